"""Architecture patterns of the flashcards (Flashcards chapter 4).

- ``conv_pattern``: the conv-net pattern ``[[Conv -> ReLU] * N -> Pool] * M -> [FC -> ReLU] * K -> FC``
  as an ``nn.Sequential``.
- ``predicted_shapes`` and ``traced_shapes``: the shape after every layer of an ``nn.Sequential``,
  once from the output-size formulas of ``dlnotes.shapes`` and once by running the layers.
- ``upconv_settings``: the kernel, padding and output padding of a transposed convolution that
  map one size exactly to another.
- ``DeepMLP``: a stack of ``Linear -> (BatchNorm) -> ReLU`` blocks, plain or with skip connections.
- ``one_hot_embed`` and ``TabularEmbedder``: an embedding as a one-hot vector times a matrix, and a
  model with one embedding per categorical column of a table.

Each is checked in ``tests/test_patterns.py`` against PyTorch (``nn.Conv2d``,
``nn.ConvTranspose2d``, ``nn.Embedding``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int
from .shapes import conv_output_size, conv_transpose_output_size, pool_output_size

__all__ = [
    "conv_pattern",
    "predicted_shapes",
    "traced_shapes",
    "upconv_settings",
    "DeepMLP",
    "one_hot_embed",
    "TabularEmbedder",
]


def _non_negative_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def conv_pattern(
    n_conv: int,
    n_stages: int,
    n_fc: int,
    in_channels: int = 1,
    image_size: int = 8,
    channels: int = 8,
    hidden: int = 32,
    num_classes: int = 10,
    kernel: int = 3,
) -> nn.Sequential:
    """``[[Conv -> ReLU] * N -> Pool] * M -> [FC -> ReLU] * K -> FC`` for square images.

    ``N = n_conv`` convolutions (``kernel x kernel``, padding ``kernel // 2``, so an odd kernel
    keeps the size) with a ReLU each, then a 2x2 max pooling, make one stage; ``M = n_stages``
    stages follow each other, the channels doubling from ``channels`` at every stage. The last
    feature map is flattened, ``K = n_fc`` fully connected layers of ``hidden`` units with a ReLU
    each follow, and a final linear layer gives ``num_classes`` logits.
    """
    n = positive_int("n_conv", n_conv)
    m = _non_negative_int("n_stages", n_stages)
    k = _non_negative_int("n_fc", n_fc)
    for name, value in (
        ("in_channels", in_channels),
        ("image_size", image_size),
        ("channels", channels),
        ("hidden", hidden),
        ("num_classes", num_classes),
        ("kernel", kernel),
    ):
        positive_int(name, value)
    if kernel % 2 == 0:
        raise ValueError(f"kernel must be odd so that padding kernel // 2 keeps the size, got {kernel}")
    layers: list[nn.Module] = []
    c_in, size = in_channels, image_size
    for stage in range(m):
        c_out = channels * 2**stage
        for _ in range(n):
            layers += [nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), nn.ReLU()]
            c_in = c_out
        if size < 2:
            raise ValueError(
                f"too many stages: stage {stage + 1} would pool a {size}x{size} map "
                f"(image_size={image_size} allows at most {int(math.log2(image_size))} stages)"
            )
        layers.append(nn.MaxPool2d(2))
        size //= 2
    layers.append(nn.Flatten())
    features = c_in * size * size
    for _ in range(k):
        layers += [nn.Linear(features, hidden), nn.ReLU()]
        features = hidden
    layers.append(nn.Linear(features, num_classes))
    return nn.Sequential(*layers)


def _pair(value: int | tuple[int, ...]) -> int:
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise ValueError(f"only square settings are supported, got {value}")
        return value[0]
    return value


def predicted_shapes(model: nn.Sequential, input_shape: Sequence[int]) -> list[tuple[int, ...]]:
    """The per-example shape after each layer of ``model``, from the output-size formulas.

    ``input_shape`` is ``(C, H, W)`` (or ``(D,)``); the result has one shape per layer. Supports
    ``Conv2d``, ``ConvTranspose2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten``, ``Linear`` and
    shape-preserving layers (activations, batch normalisation, dropout).
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
    shape = tuple(input_shape)
    if len(shape) not in (1, 3) or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ValueError(f"input_shape must be (C, H, W) or (D,) of positive ints, got {input_shape}")
    keep = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.BatchNorm1d, nn.BatchNorm2d, nn.Dropout, nn.Identity)
    out = []
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool2d, nn.AvgPool2d)):
            if len(shape) != 3:
                raise ValueError(f"{type(layer).__name__} needs a (C, H, W) input, got {shape}")
            c, h, w = shape
        if isinstance(layer, nn.Conv2d):
            args = [
                _pair(layer.kernel_size),
                _pair(layer.stride),
                _pair(layer.padding),
                _pair(layer.dilation),
            ]
            shape = (layer.out_channels, conv_output_size(h, *args), conv_output_size(w, *args))
        elif isinstance(layer, nn.ConvTranspose2d):
            args = [
                _pair(layer.kernel_size),
                _pair(layer.stride),
                _pair(layer.padding),
                _pair(layer.output_padding),
                _pair(layer.dilation),
            ]
            shape = (
                layer.out_channels,
                conv_transpose_output_size(h, *args),
                conv_transpose_output_size(w, *args),
            )
        elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            k, s, p = _pair(layer.kernel_size), _pair(layer.stride), _pair(layer.padding)
            shape = (c, pool_output_size(h, k, s, p), pool_output_size(w, k, s, p))
        elif isinstance(layer, nn.Flatten):
            shape = (math.prod(shape),)
        elif isinstance(layer, nn.Linear):
            if shape != (layer.in_features,):
                raise ValueError(f"Linear expects ({layer.in_features},), got {shape}")
            shape = (layer.out_features,)
        elif not isinstance(layer, keep):
            raise ValueError(f"no output-size rule for layer {type(layer).__name__}")
        out.append(shape)
    return out


def traced_shapes(model: nn.Sequential, x: torch.Tensor) -> list[tuple[int, ...]]:
    """The per-example shape after each layer of ``model``, by running ``x`` through the layers."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
    float_tensor("x", x)
    out = []
    with torch.no_grad():
        for layer in model:
            x = layer(x)
            out.append(tuple(x.shape[1:]))
    return out


def upconv_settings(
    size_in: int, size_out: int, stride: int, max_kernel: int = 4
) -> list[tuple[int, int, int]]:
    """All ``(kernel, padding, output_padding)`` with ``kernel <= max_kernel`` that give ``size_out``.

    Uses the transposed-convolution size ``S(H_in - 1) + (F - 1) - 2P + P_o + 1``, with
    ``P <= F - 1`` (more padding would crop the kernel entirely) and ``P_o < S``.
    """
    i, o = positive_int("size_in", size_in), positive_int("size_out", size_out)
    s, f_max = positive_int("stride", stride), positive_int("max_kernel", max_kernel)
    found = []
    for f in range(1, f_max + 1):
        for p in range(f):
            for po in range(s):
                try:
                    size = conv_transpose_output_size(i, f, s, p, po)
                except ValueError:
                    continue
                if size == o:
                    found.append((f, p, po))
    return found


class DeepMLP(nn.Module):
    """``Linear(D, width)``, ``depth`` blocks ``Linear -> (BatchNorm1d) -> ReLU``, ``Linear(width, K)``.

    Plain: ``h <- block(h)``. With ``residual=True`` every block gets a skip connection,
    ``h <- h + block(h)``, and nothing else changes: the same layers, the same parameters.
    """

    def __init__(
        self,
        in_features: int,
        width: int,
        depth: int,
        num_classes: int,
        residual: bool = False,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (
            ("in_features", in_features),
            ("width", width),
            ("depth", depth),
            ("num_classes", num_classes),
        ):
            positive_int(name, value)
        for name, value in (("residual", residual), ("batch_norm", batch_norm)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
        self.residual = residual
        self.inp = nn.Linear(in_features, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Linear(width, width), *([nn.BatchNorm1d(width)] if batch_norm else []), nn.ReLU()
            )
            for _ in range(depth)
        )
        self.out = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, shape ``(N, num_classes)``, for ``x`` of shape ``(N, in_features)``."""
        float_tensor("x", x)
        if x.dim() != 2 or x.shape[1] != self.inp.in_features:
            raise ValueError(f"x must have shape (N, {self.inp.in_features}), got {tuple(x.shape)}")
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h) if self.residual else block(h)
        return self.out(h)


def one_hot_embed(indices: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The embedding as a product: ``one_hot(indices) @ weight`` (row ``i`` of ``weight`` for index ``i``)."""
    float_tensor("weight", weight)
    if not isinstance(indices, torch.Tensor) or indices.dtype != torch.int64:
        raise TypeError("indices must be an int64 tensor of category indices")
    if weight.dim() != 2:
        raise ValueError(f"weight must be a (V, d) matrix, got shape {tuple(weight.shape)}")
    v = weight.shape[0]
    if indices.numel() and (indices.min() < 0 or indices.max() >= v):
        raise ValueError(f"indices must lie in [0, {v}) for a weight with {v} rows")
    return F.one_hot(indices, v).to(weight.dtype) @ weight


class TabularEmbedder(nn.Module):
    """One ``nn.Embedding`` per categorical column, concatenated with the continuous columns, then an MLP.

    ``cardinalities[c]`` is the number of categories of column ``c`` and ``embedding_dims[c]`` the
    size of its embedding; the MLP is ``Linear -> ReLU -> Linear(hidden, out_features)``.
    """

    def __init__(
        self,
        cardinalities: Sequence[int],
        embedding_dims: Sequence[int],
        n_continuous: int = 0,
        hidden: int = 16,
        out_features: int = 1,
    ) -> None:
        super().__init__()
        if len(cardinalities) == 0 or len(cardinalities) != len(embedding_dims):
            raise ValueError("cardinalities and embedding_dims must be non-empty and of the same length")
        for c, d in zip(cardinalities, embedding_dims):
            positive_int("cardinality", c)
            positive_int("embedding dim", d)
        self.n_continuous = _non_negative_int("n_continuous", n_continuous)
        positive_int("hidden", hidden)
        positive_int("out_features", out_features)
        self.embeddings = nn.ModuleList(nn.Embedding(c, d) for c, d in zip(cardinalities, embedding_dims))
        self.mlp = nn.Sequential(
            nn.Linear(sum(embedding_dims) + self.n_continuous, hidden),
            nn.ReLU(),
            nn.Linear(hidden, out_features),
        )

    def features(self, categorical: torch.Tensor, continuous: torch.Tensor | None = None) -> torch.Tensor:
        """The MLP's input: every column's embedding, then the continuous columns."""
        if not isinstance(categorical, torch.Tensor) or categorical.dtype != torch.int64:
            raise TypeError("categorical must be an int64 tensor of category indices")
        if categorical.dim() != 2 or categorical.shape[1] != len(self.embeddings):
            raise ValueError(
                f"categorical must have shape (N, {len(self.embeddings)}), got {tuple(categorical.shape)}"
            )
        for c, emb in enumerate(self.embeddings):
            col = categorical[:, c]
            if len(col) and (col.min() < 0 or col.max() >= emb.num_embeddings):
                raise ValueError(f"column {c} must hold categories in [0, {emb.num_embeddings})")
        parts = [emb(categorical[:, c]) for c, emb in enumerate(self.embeddings)]
        if self.n_continuous:
            float_tensor("continuous", continuous)
            if continuous.shape != (len(categorical), self.n_continuous):
                raise ValueError(f"continuous must have shape ({len(categorical)}, {self.n_continuous})")
            parts.append(continuous)
        elif continuous is not None:
            raise ValueError("this model has no continuous columns, but continuous was given")
        return torch.cat(parts, dim=1)

    def forward(self, categorical: torch.Tensor, continuous: torch.Tensor | None = None) -> torch.Tensor:
        """The MLP's output, shape ``(N, out_features)``."""
        return self.mlp(self.features(categorical, continuous))
