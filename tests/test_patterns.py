"""Tests for dlnotes.patterns against PyTorch's layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlnotes import patterns


@pytest.mark.parametrize(("n", "m", "k"), [(1, 1, 0), (2, 2, 1), (3, 3, 2), (1, 0, 1)])
def test_conv_pattern_shapes_match_the_layers(n, m, k):
    torch.manual_seed(0)
    model = patterns.conv_pattern(n, m, k)
    x = torch.randn(4, 1, 8, 8)
    assert patterns.predicted_shapes(model, (1, 8, 8)) == patterns.traced_shapes(model, x)
    assert model(x).shape == (4, 10)
    convs = [layer for layer in model if isinstance(layer, nn.Conv2d)]
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    assert len(convs) == n * m and len(linears) == k + 1
    assert sum(isinstance(layer, nn.MaxPool2d) for layer in model) == m


def test_predicted_shapes_of_strided_and_transposed_layers():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 5, stride=2, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AvgPool2d(3, stride=2),
        nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
        nn.Flatten(),
    )
    x = torch.randn(2, 3, 37, 37)
    assert patterns.predicted_shapes(model, (3, 37, 37)) == patterns.traced_shapes(model.eval(), x)


def test_upconv_settings_are_exact_for_conv_transpose():
    found = patterns.upconv_settings(28, 56, 2)
    assert (2, 0, 0) in found and (4, 1, 0) in found and (3, 1, 1) in found
    for f, p, po in found:
        layer = nn.ConvTranspose2d(2, 1, f, stride=2, padding=p, output_padding=po)
        assert layer(torch.zeros(1, 2, 28, 28)).shape[-2:] == (56, 56)
    assert (3, 0, 0) not in found  # 57


@pytest.mark.parametrize("batch_norm", [False, True])
def test_deep_mlp_residual_and_plain_share_parameters(batch_norm):
    torch.manual_seed(1)
    plain = patterns.DeepMLP(64, 16, 5, 10, residual=False, batch_norm=batch_norm)
    residual = patterns.DeepMLP(64, 16, 5, 10, residual=True, batch_norm=batch_norm)
    residual.load_state_dict(plain.state_dict())
    x = torch.randn(8, 64)
    h = plain.inp(x)
    for block in plain.blocks:
        h = h + block(h)
    assert torch.allclose(residual(x), plain.out(h))
    assert not torch.allclose(plain(x), residual(x))


def test_zeroed_residual_block_is_the_identity():
    net = patterns.DeepMLP(4, 6, 3, 2, residual=True)
    for block in net.blocks:
        nn.init.zeros_(block[0].weight)
        nn.init.zeros_(block[0].bias)
    x = torch.randn(5, 4)
    assert torch.allclose(net(x), net.out(net.inp(x)))


def test_one_hot_embed_is_nn_embedding():
    torch.manual_seed(2)
    emb = nn.Embedding(7, 3)
    idx = torch.tensor([[0, 6, 3], [2, 2, 5]])
    assert torch.allclose(patterns.one_hot_embed(idx, emb.weight), emb(idx))


def test_tabular_embedder_concatenates_embeddings_and_continuous():
    torch.manual_seed(3)
    model = patterns.TabularEmbedder([7, 20], [2, 4], n_continuous=1, hidden=8)
    cat = torch.tensor([[0, 19], [6, 3]])
    cont = torch.randn(2, 1)
    feats = model.features(cat, cont)
    expected = torch.cat([model.embeddings[0](cat[:, 0]), model.embeddings[1](cat[:, 1]), cont], dim=1)
    assert torch.allclose(feats, expected)
    assert model(cat, cont).shape == (2, 1)


def test_bad_input():
    with pytest.raises(ValueError, match="too many stages"):
        patterns.conv_pattern(1, 4, 0)
    with pytest.raises(ValueError, match="odd"):
        patterns.conv_pattern(1, 1, 0, kernel=4)
    with pytest.raises(ValueError, match="n_conv"):
        patterns.conv_pattern(0, 1, 0)
    with pytest.raises(TypeError, match="nn.Sequential"):
        patterns.predicted_shapes(nn.Linear(2, 2), (2,))
    with pytest.raises(ValueError, match="no output-size rule"):
        patterns.predicted_shapes(nn.Sequential(nn.LSTM(2, 2)), (2,))
    with pytest.raises(ValueError, match="input_shape"):
        patterns.predicted_shapes(nn.Sequential(nn.ReLU()), (1, 8))
    with pytest.raises(ValueError, match="size_out"):
        patterns.upconv_settings(28, 0, 2)
    with pytest.raises(TypeError, match="residual"):
        patterns.DeepMLP(4, 4, 2, 2, residual=1)
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        patterns.DeepMLP(4, 4, 2, 2)(torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        patterns.one_hot_embed(torch.tensor([3]), torch.zeros(3, 2))
    with pytest.raises(TypeError, match="int64"):
        patterns.one_hot_embed(torch.tensor([1.0]), torch.zeros(3, 2))
    model = patterns.TabularEmbedder([3], [2])
    with pytest.raises(ValueError, match=r"column 0"):
        model(torch.tensor([[3]]))
    with pytest.raises(ValueError, match="no continuous"):
        model(torch.tensor([[1]]), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="same length"):
        patterns.TabularEmbedder([3, 4], [2])
