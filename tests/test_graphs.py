"""dlnotes.graphs: graph matrices against NetworkX, message passing, GCN and GAT against loops
written from the formulas, deep sets, label propagation against scikit-learn, and bad input."""

import networkx as nx
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.semi_supervised import LabelPropagation
from torch import nn

from dlnotes import graphs
from dlnotes.data import karate_club


def _random_graph(n=9, p=0.35, seed=0, isolated=True):
    graph = nx.gnp_random_graph(n, p, seed=seed)
    if isolated:
        graph.add_node(n)  # a node without neighbours
    return graph, torch.tensor(nx.to_numpy_array(graph, nodelist=sorted(graph)), dtype=torch.float64)


def _loop_aggregate(h, graph, how):
    rows = []
    for i in sorted(graph):
        neighbours = sorted(graph.neighbors(i))
        if not neighbours:
            rows.append(torch.zeros(h.shape[1], dtype=h.dtype))
            continue
        msgs = h[neighbours]
        rows.append({"sum": msgs.sum(0), "mean": msgs.mean(0), "max": msgs.max(0).values}[how])
    return torch.stack(rows)


def test_degrees_and_adjacency_match_networkx():
    adjacency, _, graph = karate_club()
    ref = nx.to_numpy_array(graph, nodelist=sorted(graph), weight=None)
    np.testing.assert_array_equal(adjacency.numpy(), ref)
    np.testing.assert_array_equal(graphs.degrees(adjacency).numpy(), [graph.degree(v) for v in sorted(graph)])
    torch.testing.assert_close(graphs.degree_matrix(adjacency), torch.diag(adjacency.sum(1)))
    looped = graph.copy()
    looped.add_edges_from((v, v) for v in graph)
    ours = graphs.degrees(graphs.add_self_loops(adjacency))
    # a self-loop adds 1 to a row sum, while NetworkX's degree counts it twice
    np.testing.assert_array_equal(ours.numpy() + 1, [looped.degree(v) for v in sorted(looped)])


def test_symmetric_normalisation_is_identity_minus_networkx_normalized_laplacian():
    adjacency, _, graph = karate_club()
    a = adjacency.double()
    a_hat = graphs.normalize_adjacency(a)
    tilde = a + torch.eye(34, dtype=torch.float64)
    d = tilde.sum(1)
    torch.testing.assert_close(a_hat, torch.diag(d**-0.5) @ tilde @ torch.diag(d**-0.5))
    looped = graph.copy()
    looped.add_edges_from((v, v) for v in graph)
    lap = nx.normalized_laplacian_matrix(looped, nodelist=sorted(looped), weight=None).toarray()
    np.testing.assert_allclose(a_hat.numpy(), np.eye(34) - lap, atol=1e-12)
    eig = torch.linalg.eigvalsh(a_hat)
    assert abs(eig.max().item() - 1) < 1e-12 and eig.min().item() > -1
    sums = a_hat.sum(1)
    assert sums.min() < 0.9 and sums.max() > 1.1  # rows do not sum to 1 ...
    torch.testing.assert_close(
        graphs.normalize_adjacency(a, "row").sum(1), torch.ones(34, dtype=torch.float64)
    )
    torch.testing.assert_close(graphs.normalize_adjacency(a, "row"), torch.diag(1 / d) @ tilde)


def test_symmetric_rows_sum_to_one_on_a_regular_graph():
    graph = nx.petersen_graph()  # every node has degree 3
    a = torch.tensor(nx.to_numpy_array(graph), dtype=torch.float64)
    for loops in (True, False):
        torch.testing.assert_close(
            graphs.normalize_adjacency(a, self_loops=loops).sum(1), torch.ones(10, dtype=torch.float64)
        )


@pytest.mark.parametrize("how", graphs.AGGREGATIONS)
def test_aggregate_dense_and_scatter_match_a_loop_over_nodes(how):
    graph, a = _random_graph()
    h = torch.randn(len(a), 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = _loop_aggregate(h, graph, how)
    torch.testing.assert_close(graphs.aggregate(h, a, how), ref)
    torch.testing.assert_close(graphs.scatter_aggregate(h, a, how), ref)


def test_neighbour_pairs_list_both_directions():
    graph, a = _random_graph(isolated=False)
    pairs = {tuple(p) for p in graphs.neighbour_pairs(a).T.tolist()}
    assert pairs == {(i, j) for i, j in graph.edges} | {(j, i) for i, j in graph.edges}


def test_k_hop_reach_matches_shortest_paths():
    graph, a = _random_graph(n=12, p=0.2, seed=3)
    for k in range(5):
        reach = graphs.k_hop_reach(a, k)
        for i in graph:
            near = nx.single_source_shortest_path_length(graph, i, cutoff=k)
            assert set(torch.nonzero(reach[i]).flatten().tolist()) == set(near)


@pytest.mark.parametrize("how", graphs.AGGREGATIONS)
def test_readout_is_permutation_invariant(how):
    h = torch.randn(7, 3, generator=torch.Generator().manual_seed(2))
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(graphs.readout(h[perm], how), graphs.readout(h, how))
    assert graphs.readout(torch.randn(2, 7, 3), how).shape == (2, 3)


def test_gcn_layer_is_the_dense_formula_and_the_per_edge_sum():
    adjacency, _, graph = karate_club()
    a = adjacency.double()
    layer = graphs.GCNLayer(5, 3).double()
    x = torch.randn(34, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    a_hat = graphs.normalize_adjacency(a)
    out = layer(x, a_hat)
    w = layer.linear.weight.T
    torch.testing.assert_close(out, a_hat @ x @ w + layer.bias)
    d = graphs.degrees(a) + 1
    for i in (0, 11, 33):
        nbrs = [i, *graph.neighbors(i)]
        by_edges = sum(x[j] @ w / torch.sqrt(d[i] * d[j]) for j in nbrs) + layer.bias
        torch.testing.assert_close(out[i], by_edges)


def test_gcn_is_permutation_equivariant():
    adjacency, _, _ = karate_club()
    torch.manual_seed(0)
    model = graphs.GCN(34, (8, 8), 2).double()
    x = torch.randn(34, 34, dtype=torch.float64)
    perm = torch.randperm(34)
    p = torch.eye(34, dtype=torch.float64)[perm]
    a = adjacency.double()
    out = model(x, graphs.normalize_adjacency(a))
    torch.testing.assert_close(model(p @ x, graphs.normalize_adjacency(p @ a @ p.T)), out[perm])
    assert len(model.layers) == 3


def _loop_gat(wh, att, graph_with_loops, slope=0.2):
    n, f = wh.shape
    alpha = torch.zeros(n, n, dtype=wh.dtype)
    for i in range(n):
        nbrs = sorted(graph_with_loops.neighbors(i))
        e = torch.stack([F.leaky_relu(att @ torch.cat([wh[i], wh[j]]), slope) for j in nbrs])
        alpha[i, nbrs] = torch.softmax(e, 0)
    return alpha


def test_gat_attention_matches_a_loop_and_rows_sum_to_one():
    graph, a = _random_graph(n=8, p=0.4, seed=5, isolated=False)
    looped = graph.copy()
    looped.add_edges_from((v, v) for v in graph)
    g = torch.Generator().manual_seed(6)
    wh, att = (
        torch.randn(8, 3, generator=g, dtype=torch.float64),
        torch.randn(6, generator=g, dtype=torch.float64),
    )
    alpha = graphs.gat_attention(wh, att, graphs.add_self_loops(a))
    torch.testing.assert_close(alpha, _loop_gat(wh, att, looped))
    torch.testing.assert_close(graphs.gat_attention(wh, att, graphs.add_self_loops(a), check=False), alpha)
    torch.testing.assert_close(alpha.sum(1), torch.ones(8, dtype=torch.float64))
    assert bool((alpha[graphs.add_self_loops(a) == 0] == 0).all())


def test_gat_layer_heads_match_the_formula():
    graph, a = _random_graph(n=8, p=0.4, seed=7, isolated=False)
    looped = graph.copy()
    looped.add_edges_from((v, v) for v in graph)
    torch.manual_seed(0)
    layer = graphs.GATLayer(5, 3, heads=2).double()
    x = torch.randn(8, 5, dtype=torch.float64)
    out, alpha = layer(x, graphs.add_self_loops(a), return_attention=True)
    assert out.shape == (8, 6) and alpha.shape == (2, 8, 8)
    heads = []
    for h in range(2):
        wh = x @ layer.weight[h]
        heads.append(_loop_gat(wh, layer.att[h], looped) @ wh)
    torch.testing.assert_close(out, torch.cat(heads, 1) + layer.bias)
    mean_layer = graphs.GATLayer(5, 3, heads=2, concat=False).double()
    assert mean_layer(x, graphs.add_self_loops(a)).shape == (8, 3)
    assert graphs.GAT(5, 4, 2, heads=3)(x.float(), graphs.add_self_loops(a).float()).shape == (8, 2)


def test_deep_set_is_permutation_invariant_and_takes_any_set_size():
    torch.manual_seed(0)
    for pooling in graphs.AGGREGATIONS:
        model = graphs.DeepSet(nn.Sequential(nn.Linear(3, 8), nn.ReLU()), nn.Linear(8, 1), pooling)
        x = torch.randn(4, 6, 3)
        perm = torch.randperm(6)
        torch.testing.assert_close(model(x[:, perm]), model(x))
        assert model(torch.randn(4, 2, 3)).shape == (4, 1)
        assert model.embed(x).shape == (4, 8)


def test_label_propagation_matches_scikit_learn_and_the_iteration():
    adjacency, labels, _ = karate_club()
    a = adjacency.double()
    scores = graphs.label_propagation(a, labels, [0, 33])
    assert scores.shape == (34, 2)
    torch.testing.assert_close(scores[[0, 33]], torch.eye(2, dtype=torch.float64))
    torch.testing.assert_close(scores.sum(1), torch.ones(34, dtype=torch.float64))
    f = torch.zeros(34, 2, dtype=torch.float64)
    f[[0, 33]] = torch.eye(2, dtype=torch.float64)
    p = a / a.sum(1, keepdim=True)
    for _ in range(2000):  # iterate f <- D^-1 A f, clamping the labelled nodes
        f = p @ f
        f[[0, 33]] = torch.eye(2, dtype=torch.float64)
    torch.testing.assert_close(scores, f)
    y = np.full(34, -1)
    y[[0, 33]] = labels[[0, 33]].numpy()
    sk = LabelPropagation(
        kernel=lambda u, v: a.numpy()[u[:, 0].astype(int)][:, v[:, 0].astype(int)], max_iter=5000, tol=1e-9
    ).fit(np.arange(34)[:, None].astype(float), y)
    np.testing.assert_allclose(sk.label_distributions_, scores.numpy(), atol=1e-5)
    mask = torch.zeros(34, dtype=torch.bool)
    mask[[0, 33]] = True
    torch.testing.assert_close(graphs.label_propagation(a, labels, mask), scores)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: graphs.degrees(torch.ones(3, 4)), ValueError, "square"),
        (lambda: graphs.degrees(torch.ones(3, 3, dtype=torch.int64)), TypeError, "floating"),
        (lambda: graphs.degrees([[0.0]]), TypeError, "torch.Tensor"),
        (lambda: graphs.degrees(-torch.ones(2, 2)), ValueError, "non-negative"),
        (lambda: graphs.add_self_loops(torch.eye(3)), ValueError, "already has self-loops"),
        (lambda: graphs.normalize_adjacency(torch.zeros(3, 3), self_loops=False), ValueError, "degree 0"),
        (lambda: graphs.normalize_adjacency(torch.zeros(3, 3), mode="column"), ValueError, "mode"),
        (
            lambda: graphs.aggregate(torch.ones(3, 2), torch.ones(3, 3), "median"),
            ValueError,
            "sum, mean, max",
        ),
        (lambda: graphs.aggregate(torch.ones(4, 2), torch.ones(3, 3)), ValueError, "one row per node"),
        (lambda: graphs.aggregate(torch.ones(3, 2), 0.5 * torch.ones(3, 3)), ValueError, "only 0 and 1"),
        (lambda: graphs.k_hop_reach(torch.ones(3, 3), -1), ValueError, "k must be"),
        (lambda: graphs.readout(torch.ones(3), "sum"), ValueError, "shape"),
        (
            lambda: graphs.gat_attention(torch.ones(3, 2), torch.ones(3), torch.ones(3, 3)),
            ValueError,
            "a must",
        ),
        (
            lambda: graphs.gat_attention(torch.ones(3, 2), torch.ones(4), torch.zeros(3, 3)),
            ValueError,
            "self-loops",
        ),
        (lambda: graphs.GCNLayer(0, 2), ValueError, "in_features"),
        (lambda: graphs.GCN(3, 16, 2), TypeError, "hidden"),
        (lambda: graphs.GATLayer(3, 2, heads=0), ValueError, "heads"),
        (lambda: graphs.DeepSet(nn.Linear(2, 2), nn.Linear(2, 1), "median"), ValueError, "sum, mean, max"),
        (lambda: graphs.DeepSet(nn.Linear(2, 2), nn.Linear(2, 1))(torch.ones(4, 2)), ValueError, "(B, n"),
        (lambda: graphs.DeepSet(lambda v: v, nn.Linear(2, 1)), TypeError, "nn.Module"),
        (lambda: graphs.label_propagation(torch.ones(3, 3), torch.zeros(3), [0]), TypeError, "int64"),
        (
            lambda: graphs.label_propagation(torch.zeros(3, 3), torch.zeros(3, dtype=torch.int64), [0]),
            ValueError,
            "not connected",
        ),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        call()
