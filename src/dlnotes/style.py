"""Neural style transfer (Gatys et al. 2016) with a fixed, randomly initialised CNN.

- ``gram_matrix``: the Gram matrix ``G = Phi Phi^T`` of a layer's feature maps, flattened to
  ``Phi`` of shape ``(C, M)`` with ``M = H * W`` positions, optionally divided by ``M``.
- ``content_loss``: the mean squared difference of two feature maps.
- ``style_loss``: the weighted sum over layers of the mean squared difference of Gram matrices;
  ``gatys_layer_style_loss`` is Gatys et al.'s per-layer form ``sum (G - A)^2 / (4 C^2 M^2)``.
- ``mean_std_style_loss``: an alternative style statistic, the per-channel mean and standard
  deviation of the feature maps (the statistics AdaIN matches, Huang and Belongie 2017).
- ``RandomFeatures``: a small multi-scale CNN (3x3 convolutions, ReLU, average pooling) whose
  weights are drawn once from a seeded CPU generator and never trained; it returns the feature
  maps of every block. Random-weight networks capture texture statistics (Ustyuzhaninov et al.
  2017; He, Wang and Hopcroft 2016), which is what makes style transfer possible offline.
- ``transfer``: optimise the pixels of an image to minimise
  ``alpha * content_loss + beta * style_loss``.

Each function is checked in ``tests/test_style.py`` against ``torch.einsum`` and ``F.mse_loss``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "gram_matrix",
    "content_loss",
    "style_loss",
    "gatys_layer_style_loss",
    "mean_std_style_loss",
    "RandomFeatures",
    "TransferResult",
    "transfer",
]


def _feature_maps(name: str, x: object) -> torch.Tensor:
    float_tensor(name, x)
    if x.dim() not in (3, 4):
        raise ValueError(f"{name} must have shape (C, H, W) or (B, C, H, W), got {tuple(x.shape)}")
    return x


def gram_matrix(features: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """The Gram matrix of feature maps ``(C, H, W)`` or ``(B, C, H, W)``: ``(C, C)`` or ``(B, C, C)``.

    Each feature map is flattened into a row of ``Phi`` (``C x M``, ``M = H * W``), and
    ``G = Phi Phi^T``: entry ``(i, j)`` is the inner product of feature maps ``i`` and ``j``
    summed over all positions. With ``normalize`` it is divided by ``M`` (a mean over positions).
    """
    _feature_maps("features", features)
    phi = features.flatten(-2)
    gram = phi @ phi.transpose(-1, -2)
    return gram / phi.shape[-1] if normalize else gram


def _same_shape(a: torch.Tensor, b: torch.Tensor, names: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{names} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def content_loss(generated: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of two feature maps of the same shape (the content loss)."""
    _feature_maps("generated", generated)
    _feature_maps("content", content)
    _same_shape(generated, content, "generated and content")
    return ((generated - content) ** 2).mean()


def _check_layers(
    generated: Sequence[torch.Tensor], targets: Sequence[torch.Tensor], weights: Sequence[float] | None
) -> list[float]:
    if not isinstance(generated, (list, tuple)) or not isinstance(targets, (list, tuple)):
        raise TypeError("generated and targets must be lists of tensors, one per layer")
    if len(generated) != len(targets) or not generated:
        raise ValueError(f"need the same non-zero number of layers, got {len(generated)} and {len(targets)}")
    weights = [1.0] * len(generated) if weights is None else list(weights)
    if len(weights) != len(generated):
        raise ValueError(f"got {len(weights)} weights for {len(generated)} layers")
    return weights


def style_loss(
    generated: Sequence[torch.Tensor],
    style_grams: Sequence[torch.Tensor],
    weights: Sequence[float] | None = None,
) -> torch.Tensor:
    """``sum_l w_l * mean((G_l(generated) - A_l)^2)``, with normalised Gram matrices.

    ``generated`` holds one feature-map tensor per layer, ``style_grams`` the normalised Gram
    matrices of the style image at the same layers, ``weights`` one weight per layer (default 1).
    """
    weights = _check_layers(generated, style_grams, weights)
    total = 0.0
    for w, feats, target in zip(weights, generated, style_grams):
        gram = gram_matrix(feats)
        _same_shape(gram, target, "a layer's Gram matrix and its style Gram matrix")
        total = total + w * ((gram - target) ** 2).mean()
    return total


def gatys_layer_style_loss(generated: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Gatys et al.'s style loss of one layer: ``sum_ij (G_ij - A_ij)^2 / (4 C^2 M^2)``.

    ``G`` and ``A`` are the unnormalised Gram matrices of the two feature maps ``(C, H, W)`` or
    ``(B, C, H, W)``; summed over the batch.
    """
    _feature_maps("generated", generated)
    _feature_maps("style", style)
    _same_shape(generated, style, "generated and style")
    c, m = generated.shape[-3], generated.shape[-2] * generated.shape[-1]
    diff = gram_matrix(generated, normalize=False) - gram_matrix(style, normalize=False)
    return (diff**2).sum() / (4 * c**2 * m**2)


def mean_std_style_loss(
    generated: Sequence[torch.Tensor], style: Sequence[torch.Tensor], weights: Sequence[float] | None = None
) -> torch.Tensor:
    """A style loss on per-channel statistics instead of Gram matrices.

    For each layer, the squared differences of the channels' means and of their (biased)
    standard deviations over positions, averaged over channels, times the layer's weight.
    """
    weights = _check_layers(generated, style, weights)
    total = 0.0
    for w, a, b in zip(weights, generated, style):
        _feature_maps("generated", a)
        _feature_maps("style", b)
        if a.shape[:-2] != b.shape[:-2]:
            raise ValueError(f"channel counts differ: {tuple(a.shape)} and {tuple(b.shape)}")
        fa, fb = a.flatten(-2), b.flatten(-2)
        mean_term = ((fa.mean(-1) - fb.mean(-1)) ** 2).mean()
        std_term = ((fa.std(-1, correction=0) - fb.std(-1, correction=0)) ** 2).mean()
        total = total + w * (mean_term + std_term)
    return total


class RandomFeatures(nn.Module):
    """A fixed multi-scale CNN with random weights: one feature map per block.

    Block ``l`` is a 3x3 convolution (padding 1) with ``channels[l]`` filters followed by ReLU;
    every block after the first starts with 2x2 average pooling, so block ``l`` sees the image
    at ``1 / 2^l`` of its resolution. Weights are drawn once with He (Kaiming) normal scaling
    from a CPU generator seeded with ``seed``, biases are zero, and nothing requires a gradient.
    Inputs are images in ``[0, 1]``; they are centred by subtracting 0.5.
    """

    def __init__(self, channels: Sequence[int] = (32, 64, 128, 128), seed: int = 0) -> None:
        super().__init__()
        if not isinstance(channels, (list, tuple)) or not channels:
            raise ValueError(f"channels must be a non-empty list of positive ints, got {channels!r}")
        for c in channels:
            positive_int("each entry of channels", c)
        g = torch.Generator().manual_seed(seed)
        self.blocks = nn.ModuleList()
        c_in = 3
        for i, c_out in enumerate(channels):
            conv = nn.Conv2d(c_in, c_out, 3, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2 / (9 * c_in)) ** 0.5)
                conv.bias.zero_()
            layers = ([nn.AvgPool2d(2)] if i else []) + [conv, nn.ReLU()]
            self.blocks.append(nn.Sequential(*layers))
            c_in = c_out
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        float_tensor("x", x)
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"x must be a batch of RGB images (B, 3, H, W), got {tuple(x.shape)}")
        out, h = [], x - 0.5
        for block in self.blocks:
            h = block(h)
            out.append(h)
        return out


@dataclass
class TransferResult:
    """The optimised image and the content and style losses recorded at every step."""

    image: torch.Tensor
    content: list[float] = field(default_factory=list)
    style: list[float] = field(default_factory=list)


def transfer(
    extractor: nn.Module,
    content: torch.Tensor,
    style: torch.Tensor,
    alpha: float = 1.0,
    beta: float = 1.0,
    steps: int = 40,
    content_layer: int = -1,
    style_layers: Sequence[int] | None = None,
    style_weights: Sequence[float] | None = None,
    start: torch.Tensor | None = None,
    style_fn: str = "gram",
) -> TransferResult:
    """Optimise an image's pixels to minimise ``alpha * E_content + beta * E_style`` with L-BFGS.

    ``content`` and ``style`` are ``(1, 3, H, W)`` images in ``[0, 1]`` (their sizes may differ);
    the image starts from ``start`` (default: a copy of ``content``). L-BFGS (as in Gatys et al.)
    runs ``steps`` iterations in rounds of 10, and the pixels are clamped to ``[0, 1]`` after
    every round. ``content_layer`` indexes the extractor's blocks; ``style_layers`` (default all)
    and ``style_weights`` choose the style layers; ``style_fn`` is ``"gram"`` or ``"mean_std"``.
    ``alpha = 0`` or ``beta = 0`` drops that loss. The losses are recorded at every evaluation.
    """
    for name, img in (("content", content), ("style", style)):
        float_tensor(name, img)
        if img.dim() != 4 or img.shape[:2] != (1, 3):
            raise ValueError(f"{name} must be one RGB image shaped (1, 3, H, W), got {tuple(img.shape)}")
    positive_int("steps", steps)
    if alpha < 0 or beta < 0 or alpha + beta == 0:
        raise ValueError(f"alpha and beta must be >= 0 and not both 0, got {alpha} and {beta}")
    if style_fn not in ("gram", "mean_std"):
        raise ValueError(f"style_fn must be 'gram' or 'mean_std', got {style_fn!r}")
    with torch.no_grad():
        target_content = extractor(content)[content_layer]
        style_feats = extractor(style)
        layers = range(len(style_feats)) if style_layers is None else list(style_layers)
        style_targets = [
            gram_matrix(style_feats[i]) if style_fn == "gram" else style_feats[i] for i in layers
        ]
    image = (content if start is None else start).detach().clone().requires_grad_(True)
    loss_fn = style_loss if style_fn == "gram" else mean_std_style_loss
    result = TransferResult(image)

    def closure() -> torch.Tensor:
        feats = extractor(image)
        e_content = content_loss(feats[content_layer], target_content)
        e_style = loss_fn([feats[i] for i in layers], style_targets, style_weights)
        loss = alpha * e_content + beta * e_style
        opt.zero_grad()
        loss.backward()
        result.content.append(e_content.item())
        result.style.append(e_style.item())
        return loss

    for done in range(0, steps, 10):
        opt = torch.optim.LBFGS(
            [image], lr=1, max_iter=min(10, steps - done), history_size=10, line_search_fn="strong_wolfe"
        )
        opt.step(closure)
        with torch.no_grad():
            image.clamp_(0, 1)
    result.image = image.detach()
    return result
