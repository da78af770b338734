"""Graphs as matrices, message passing, graph convolutions, graph attention and deep sets.

Graphs are dense adjacency matrices ``A`` of shape ``(n, n)``: ``A[i, j] != 0`` when node ``i``
receives a message from node ``j`` (for an undirected graph, ``A`` is symmetric). Node features
are the rows of a matrix ``X`` (or ``H``) of shape ``(n, f)``.

- ``degrees``, ``degree_matrix``, ``add_self_loops``, ``normalize_adjacency``: the matrices of a
  graph convolution, ``D^-1/2 (A + I) D^-1/2`` (symmetric) or ``D^-1 (A + I)`` (rows sum to 1).
- ``neighbour_pairs``, ``aggregate``, ``scatter_aggregate``: message passing with a sum, mean
  or max over each node's neighbours, as dense matrix products and as a scatter over the edges.
- ``k_hop_reach``: which nodes ``k`` rounds of message passing connect, ``(A + I)^k > 0``.
- ``readout``: a permutation-invariant pooling of the node embeddings into a graph embedding.
- ``GCNLayer``, ``GCN``: the graph convolution of Kipf and Welling (2017).
- ``gat_attention``, ``GATLayer``, ``GAT``: graph attention of Velickovic et al. (2018).
- ``DeepSet``: ``phi(pool_i psi(x_i))`` of Zaheer et al. (2017).
- ``label_propagation``: the harmonic-function label propagation of Zhu et al. (2003).

Each is checked in ``tests/test_graphs.py`` against NetworkX, scikit-learn or a loop over the
nodes written from the formula.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "AGGREGATIONS",
    "degrees",
    "degree_matrix",
    "add_self_loops",
    "normalize_adjacency",
    "neighbour_pairs",
    "aggregate",
    "scatter_aggregate",
    "k_hop_reach",
    "readout",
    "GCNLayer",
    "GCN",
    "gat_attention",
    "GATLayer",
    "GAT",
    "DeepSet",
    "label_propagation",
]

AGGREGATIONS = ("sum", "mean", "max")


def _check_adjacency(adjacency: object, binary: bool = False) -> torch.Tensor:
    float_tensor("adjacency", adjacency)
    if adjacency.dim() != 2 or adjacency.shape[0] != adjacency.shape[1] or adjacency.shape[0] == 0:
        raise ValueError(
            f"adjacency must be a square (n, n) matrix with n >= 1, got shape {tuple(adjacency.shape)}"
        )
    if not bool(torch.isfinite(adjacency).all()) or bool((adjacency < 0).any()):
        raise ValueError("adjacency must have finite, non-negative entries")
    if binary and not bool(((adjacency == 0) | (adjacency == 1)).all()):
        raise ValueError("adjacency must hold only 0 and 1 here (an unweighted graph)")
    return adjacency


def _check_features(h: object, n: int, name: str = "h") -> torch.Tensor:
    float_tensor(name, h)
    if h.dim() != 2 or h.shape[0] != n:
        raise ValueError(
            f"{name} must have shape (n, f) with one row per node (n = {n}), got {tuple(h.shape)}"
        )
    return h


def _check_aggregation(how: str) -> str:
    if how not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}; got {how!r}")
    return how


def degrees(adjacency: torch.Tensor) -> torch.Tensor:
    """The degree of every node, ``d_i = sum_j a_ij`` (the row sums), shape ``(n,)``.

    A self-loop ``a_ii = 1`` adds 1 (NetworkX's ``graph.degree`` counts a self-loop twice).
    """
    return _check_adjacency(adjacency).sum(dim=1)


def degree_matrix(adjacency: torch.Tensor) -> torch.Tensor:
    """The diagonal matrix ``D`` of the degrees (row sums of ``adjacency``), shape ``(n, n)``."""
    return torch.diag(degrees(adjacency))


def add_self_loops(adjacency: torch.Tensor) -> torch.Tensor:
    """``A + I``: every node also receives its own message. The graph must have no self-loops yet."""
    _check_adjacency(adjacency)
    looped = torch.nonzero(torch.diagonal(adjacency)).flatten().tolist()
    if looped:
        raise ValueError(
            f"adjacency already has self-loops on nodes {looped[:5]}; add_self_loops adds I to A"
        )
    return adjacency + torch.eye(len(adjacency), dtype=adjacency.dtype, device=adjacency.device)


def normalize_adjacency(
    adjacency: torch.Tensor, mode: str = "symmetric", self_loops: bool = True
) -> torch.Tensor:
    """The propagation matrix of a graph convolution.

    With ``self_loops`` the graph first gets ``A~ = A + I`` and ``D~`` is the degree matrix of
    ``A~`` (each degree plus one). ``mode="symmetric"`` gives ``D~^-1/2 A~ D~^-1/2``, entry
    ``a~_ij / sqrt(d~_i d~_j)`` (Kipf and Welling's renormalisation; its rows do *not* sum to 1
    unless all degrees are equal, but its largest eigenvalue is 1); ``mode="row"`` gives
    ``D~^-1 A~``, whose rows sum to 1 (the mean over the neighbourhood).
    """
    if mode not in ("symmetric", "row"):
        raise ValueError(f"mode must be 'symmetric' or 'row', got {mode!r}")
    if not isinstance(self_loops, bool):
        raise TypeError(f"self_loops must be a bool, got {type(self_loops).__name__}")
    a = add_self_loops(adjacency) if self_loops else _check_adjacency(adjacency)
    d = a.sum(dim=1)
    isolated = torch.nonzero(d == 0).flatten().tolist()
    if isolated:
        raise ValueError(f"nodes {isolated[:5]} have degree 0, so D^-1/2 is undefined; use self_loops=True")
    if mode == "row":
        return a / d[:, None]
    s = d.rsqrt()
    return s[:, None] * a * s[None, :]


def neighbour_pairs(adjacency: torch.Tensor) -> torch.Tensor:
    """The edges as a ``(2, E)`` integer tensor of pairs ``(i, j)`` with ``a_ij != 0``.

    Row 0 holds the receiving node ``i``, row 1 its neighbour ``j`` (the sender); an undirected
    edge appears twice, once in each direction.
    """
    return torch.nonzero(_check_adjacency(adjacency)).T


def aggregate(h: torch.Tensor, adjacency: torch.Tensor, how: str = "sum") -> torch.Tensor:
    """Aggregate every node's neighbours' features with dense matrix operations.

    For an unweighted ``adjacency``, row ``i`` of the result is the sum, mean or element-wise max
    of ``h[j]`` over the neighbours ``j`` of ``i`` (``a_ij = 1``): ``A H``, ``D^-1 A H``, or a
    max over ``H`` masked by ``A``. A node without neighbours gets zeros.
    """
    _check_aggregation(how)
    _check_adjacency(adjacency, binary=True)
    _check_features(h, len(adjacency))
    if how == "max":
        masked = h[None, :, :].masked_fill(adjacency[:, :, None] == 0, float("-inf"))
        out = masked.amax(dim=1)
        return torch.where(torch.isinf(out) & (out < 0), torch.zeros_like(out), out)
    total = adjacency @ h
    if how == "sum":
        return total
    return total / adjacency.sum(dim=1).clamp(min=1)[:, None]


def scatter_aggregate(h: torch.Tensor, adjacency: torch.Tensor, how: str = "sum") -> torch.Tensor:
    """The same aggregation as ``aggregate``, computed edge by edge with ``scatter_reduce``.

    Each edge ``(i, j)`` of ``neighbour_pairs`` carries the message ``h[j]`` to node ``i``; the
    messages are reduced per receiving node. This touches only the ``E`` edges, not all ``n^2``
    pairs, which is how graph libraries handle large sparse graphs.
    """
    _check_aggregation(how)
    _check_adjacency(adjacency, binary=True)
    _check_features(h, len(adjacency))
    receiver, sender = neighbour_pairs(adjacency)
    index = receiver[:, None].expand(-1, h.shape[1])
    reduce = {"sum": "sum", "mean": "mean", "max": "amax"}[how]
    return torch.zeros_like(h).scatter_reduce(0, index, h[sender], reduce=reduce, include_self=False)


def k_hop_reach(adjacency: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean ``(n, n)`` matrix: ``[i, j]`` is true when ``j`` is at most ``k`` edges from ``i``.

    It is the pattern of non-zeros of ``(A + I)^k``: the nodes whose features can reach node
    ``i`` through ``k`` rounds of message passing (``k = 0`` gives the identity).
    """
    _check_adjacency(adjacency)
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be an int >= 0, got {k!r}")
    step = (adjacency != 0) | torch.eye(len(adjacency), dtype=torch.bool, device=adjacency.device)
    reach = torch.eye(len(adjacency), dtype=torch.bool, device=adjacency.device)
    for _ in range(k):
        reach = (reach.double() @ step.double()) > 0
    return reach


def readout(h: torch.Tensor, how: str = "sum") -> torch.Tensor:
    """A graph embedding: the sum, mean or max of the node embeddings over the nodes (``dim=-2``).

    Any of the three gives the same result for every order of the nodes.
    """
    _check_aggregation(how)
    float_tensor("h", h)
    if h.dim() < 2 or h.shape[-2] == 0:
        raise ValueError(f"h must have shape (..., n, f) with n >= 1 nodes, got {tuple(h.shape)}")
    if how == "sum":
        return h.sum(dim=-2)
    if how == "mean":
        return h.mean(dim=-2)
    return h.amax(dim=-2)


class GCNLayer(nn.Module):
    """One graph convolution, ``A_hat X W + b`` (Kipf and Welling 2017), before the activation.

    ``a_hat`` is the propagation matrix, usually ``normalize_adjacency(A)`` =
    ``D~^-1/2 (A + I) D~^-1/2``, computed once per graph and passed to ``forward``. The weight
    ``W`` (``linear.weight`` is its transpose) starts with Glorot initialisation, as in the paper.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        positive_int("in_features", in_features)
        positive_int("out_features", out_features)
        self.linear = nn.Linear(in_features, out_features, bias=False)
        nn.init.xavier_uniform_(self.linear.weight)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: torch.Tensor, a_hat: torch.Tensor) -> torch.Tensor:
        _check_adjacency(a_hat)
        _check_features(x, len(a_hat), "x")
        out = a_hat @ self.linear(x)
        return out if self.bias is None else out + self.bias


class GCN(nn.Module):
    """A stack of ``GCNLayer``s with ReLU between them; the last layer gives logits per node.

    ``hidden`` lists the hidden widths: ``GCN(34, (16,), 2)`` is the two-layer model of Kipf and
    Welling, ``softmax(A_hat ReLU(A_hat X W1) W2)`` without the softmax. ``dropout`` is applied
    to the input of every layer during training.
    """

    def __init__(
        self, in_features: int, hidden: tuple[int, ...] = (16,), out_features: int = 2, dropout: float = 0.0
    ):
        super().__init__()
        if not isinstance(hidden, (tuple, list)):
            raise TypeError(f"hidden must be a tuple of ints, got {type(hidden).__name__}")
        sizes = [positive_int("in_features", in_features)]
        sizes += [positive_int("each hidden width", w) for w in hidden]
        sizes.append(positive_int("out_features", out_features))
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
        self.layers = nn.ModuleList(GCNLayer(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, a_hat: torch.Tensor) -> torch.Tensor:
        for k, layer in enumerate(self.layers):
            x = layer(self.dropout(x), a_hat)
            if k < len(self.layers) - 1:
                x = torch.relu(x)
        return x


def _check_attention_inputs(wh: object, a: object, adjacency: object) -> None:
    float_tensor("wh", wh)
    float_tensor("a", a)
    _check_adjacency(adjacency)
    if wh.dim() not in (2, 3) or wh.shape[-2] != len(adjacency):
        raise ValueError(
            f"wh must have shape (n, f) or (heads, n, f) with n = {len(adjacency)}, got {tuple(wh.shape)}"
        )
    if a.shape != (*wh.shape[:-2], 2 * wh.shape[-1]):
        raise ValueError(
            f"a must have shape {(*wh.shape[:-2], 2 * wh.shape[-1])} for wh of shape {tuple(wh.shape)}, "
            f"got {tuple(a.shape)}"
        )
    lonely = torch.nonzero(adjacency.sum(dim=1) == 0).flatten().tolist()
    if lonely:
        raise ValueError(f"nodes {lonely[:5]} have no neighbour to attend to; add self-loops (A + I)")


def gat_attention(
    wh: torch.Tensor,
    a: torch.Tensor,
    adjacency: torch.Tensor,
    negative_slope: float = 0.2,
    check: bool = True,
) -> torch.Tensor:
    """Graph-attention weights ``alpha_ij`` (Velickovic et al. 2018), one row per node.

    ``wh`` holds the projected features ``W h_j``, shape ``(n, f)`` or ``(heads, n, f)``; ``a``
    the attention vector, shape ``(2f,)`` or ``(heads, 2f)``. The score of neighbour ``j`` for
    node ``i`` is ``e_ij = LeakyReLU(a . [W h_i || W h_j])``, which splits into
    ``a[:f] . W h_i + a[f:] . W h_j``; the weights are ``softmax_j e_ij`` over the ``j`` with
    ``a_ij != 0`` only, and exactly 0 elsewhere. Every row must have a neighbour (use ``A + I``).
    ``check=False`` skips the input checks (``GATLayer`` makes them once per call).
    """
    if check:
        _check_attention_inputs(wh, a, adjacency)
    f = wh.shape[-1]
    own = wh @ a[..., :f, None]  # (..., n, 1): a_1 . W h_i
    other = (wh @ a[..., f:, None]).transpose(-1, -2)  # (..., 1, n): a_2 . W h_j
    scores = F.leaky_relu(own + other, negative_slope)
    return torch.softmax(scores.masked_fill(adjacency == 0, float("-inf")), dim=-1)


class GATLayer(nn.Module):
    """One graph-attention layer: ``h_i' = sum_j alpha_ij W h_j`` per head, before the activation.

    ``heads`` independent attention heads, each with its own ``W`` (``in -> out``) and attention
    vector ``a`` (length ``2 out``); their outputs are concatenated (``concat=True``, width
    ``heads * out``) or averaged (width ``out``), as in the paper. ``forward(x, adjacency)``
    attends over the non-zeros of ``adjacency``: pass ``A + I`` so each node also attends to
    itself. With ``return_attention`` it also returns the ``(heads, n, n)`` weights.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        heads: int = 1,
        concat: bool = True,
        negative_slope: float = 0.2,
        bias: bool = True,
    ):
        super().__init__()
        positive_int("in_features", in_features)
        positive_int("out_features", out_features)
        positive_int("heads", heads)
        self.heads, self.concat, self.negative_slope = heads, concat, negative_slope
        self.weight = nn.Parameter(torch.empty(heads, in_features, out_features))
        self.att = nn.Parameter(torch.empty(heads, 2 * out_features))
        for h in range(heads):
            nn.init.xavier_uniform_(self.weight.data[h])
        nn.init.xavier_uniform_(self.att.data)
        width = heads * out_features if concat else out_features
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor, return_attention: bool = False):
        _check_adjacency(adjacency)
        _check_features(x, len(adjacency), "x")
        wh = torch.einsum("ni,hio->hno", x, self.weight)
        _check_attention_inputs(wh, self.att, adjacency)
        alpha = gat_attention(wh, self.att, adjacency, self.negative_slope, check=False)
        out = alpha @ wh  # (heads, n, out)
        out = out.transpose(0, 1).reshape(len(adjacency), -1) if self.concat else out.mean(dim=0)
        if self.bias is not None:
            out = out + self.bias
        return (out, alpha) if return_attention else out


class GAT(nn.Module):
    """Two graph-attention layers: ``heads`` concatenated heads and ELU, then one head of logits.

    The architecture of Velickovic et al. (2018) for transductive node classification, smaller.
    ``forward(x, adjacency)`` expects ``A + I``.
    """

    def __init__(
        self, in_features: int, hidden: int = 8, out_features: int = 2, heads: int = 4, dropout: float = 0.0
    ):
        super().__init__()
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
        self.layer1 = GATLayer(in_features, hidden, heads=heads, concat=True)
        self.layer2 = GATLayer(positive_int("hidden", hidden) * heads, out_features, heads=1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        h = F.elu(self.layer1(self.dropout(x), adjacency))
        return self.layer2(self.dropout(h), adjacency)


class DeepSet(nn.Module):
    """``phi(pool_i psi(x_i))``: a network that gives the same output for every order of a set.

    ``psi`` maps each element to an embedding (the same network for all elements), ``pooling``
    (``"sum"``, ``"mean"`` or ``"max"``) combines the embeddings of a set, and ``phi`` maps the
    pooled embedding to the output (Zaheer et al. 2017; they write ``phi`` for the element network
    and ``rho`` for the output network). Input shape ``(B, n, *element_shape)``: ``B`` sets of
    ``n`` elements each; ``n`` may change from one call to the next.
    """

    def __init__(self, psi: nn.Module, phi: nn.Module, pooling: str = "sum"):
        super().__init__()
        if not isinstance(psi, nn.Module) or not isinstance(phi, nn.Module):
            raise TypeError("psi and phi must be torch.nn.Module instances")
        self.psi, self.phi, self.pooling = psi, phi, _check_aggregation(pooling)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled embedding of each set, shape ``(B, embedding size)``."""
        float_tensor("x", x)
        if x.dim() < 3 or x.shape[1] == 0:
            raise ValueError(f"x must have shape (B, n, *element_shape) with n >= 1, got {tuple(x.shape)}")
        items = self.psi(x.flatten(0, 1))
        return readout(items.view(x.shape[0], x.shape[1], -1), self.pooling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.phi(self.embed(x))


def label_propagation(
    adjacency: torch.Tensor, labels: torch.Tensor, labelled: torch.Tensor, num_classes: int | None = None
) -> torch.Tensor:
    """Class scores from label propagation on a graph: the harmonic solution of Zhu et al. (2003).

    The labelled nodes keep their one-hot label; every other node gets the weighted mean of its
    neighbours' scores, ``f_i = sum_j a_ij f_j / d_i``. Solved exactly:
    ``F_u = (D_uu - A_uu)^-1 A_ul Y_l``. Score ``[i, k]`` is the probability that a random walk
    from ``i`` (to a neighbour ``j`` with probability ``a_ij / d_i`` at each step) first hits a
    labelled node of class ``k``. ``labelled`` is a boolean mask or a list of node indices;
    every unlabelled node must be connected to a labelled one.
    """
    _check_adjacency(adjacency)
    n = len(adjacency)
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64 or labels.shape != (n,):
        raise TypeError(f"labels must be an int64 tensor of shape ({n},)")
    mask = torch.as_tensor(labelled, device=adjacency.device)
    if mask.dtype != torch.bool:
        index, mask = mask.long(), torch.zeros(n, dtype=torch.bool, device=adjacency.device)
        mask[index] = True
    if mask.shape != (n,) or not bool(mask.any()):
        raise ValueError("labelled must mark at least one of the n nodes")
    k = int(labels[mask].max()) + 1 if num_classes is None else positive_int("num_classes", num_classes)
    if bool((labels[mask] < 0).any()) or int(labels[mask].max()) >= k:
        raise ValueError(f"labels of the labelled nodes must lie in 0..{k - 1}")
    reach = k_hop_reach(adjacency, n)[:, mask].any(dim=1)
    if not bool(reach.all()):
        raise ValueError(
            f"nodes {torch.nonzero(~reach).flatten().tolist()[:5]} are not connected to any labelled node"
        )
    a = adjacency.double()
    y_l = F.one_hot(labels[mask], k).double()
    scores = torch.zeros(n, k, dtype=torch.float64, device=adjacency.device)
    scores[mask] = y_l
    u = ~mask
    if bool(u.any()):
        laplacian_uu = torch.diag(a[u].sum(dim=1)) - a[u][:, u]
        scores[u] = torch.linalg.solve(laplacian_uu, a[u][:, mask] @ y_l)
    return scores.to(adjacency.dtype)
