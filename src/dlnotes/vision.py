"""Looking inside CNNs and the building blocks of modern ones (APS360 chapter 6).

- ``saliency_map``: the gradient of a class score with respect to the input (Simonyan et al. 2014).
- ``compose_kernels``: two stacked linear convolutions as one convolution with a larger kernel.
- ``sobel``: the Sobel edge filter as a fixed convolution.
- ``ResidualBlock``, ``InceptionBlock``, ``AuxDigitsCNN``: small versions of the ResNet,
  GoogLeNet and auxiliary-classifier ideas for the 8x8 digits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import positive_int

__all__ = [
    "saliency_map",
    "compose_kernels",
    "sobel",
    "ResidualBlock",
    "InceptionBlock",
    "AuxDigitsCNN",
]


def _images(x: object) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(
            f"x must be a floating-point batch of images (N, C, H, W), got shape "
            f"{tuple(x.shape)} and dtype {x.dtype}"
        )
    return x


def saliency_map(model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """Saliency of each pixel: ``max_c |d z_k / d x_{c,i,j}|`` (Simonyan et al. 2014).

    ``z_k`` is the class score (logit) of class ``k``: ``target[n]`` for image ``n``, or, when
    ``target`` is ``None``, the class the model predicts. The gradient is taken with respect to
    the input image ``x`` of shape ``(N, C, H, W)``, its absolute value is maximised over the
    channels, and the result has shape ``(N, H, W)``. The model is put in eval mode for the
    computation (and back afterwards); its parameters' ``.grad`` are left untouched.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = _images(x)
    was_training = model.training
    model.eval()
    try:
        inp = x.detach().clone().requires_grad_(True)
        logits = model(inp)
        if logits.dim() != 2 or len(logits) != len(x):
            raise ValueError(f"model must return logits of shape (N, K), got {tuple(logits.shape)}")
        if target is None:
            target = logits.argmax(dim=1)
        if not isinstance(target, torch.Tensor) or target.shape != (len(x),):
            raise ValueError(f"target must be a tensor of {len(x)} class indices")
        if (
            target.dtype not in (torch.int64, torch.int32)
            or not ((target >= 0) & (target < logits.shape[1])).all()
        ):
            raise ValueError(f"target must hold integer classes in [0, {logits.shape[1]})")
        score = logits.gather(1, target.to(logits.device).long()[:, None]).sum()
        (grad,) = torch.autograd.grad(score, inp)
    finally:
        model.train(was_training)
    return grad.abs().amax(dim=1)


def _conv_weight(name: str, w: object) -> torch.Tensor:
    if not isinstance(w, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(w).__name__}")
    if w.dim() != 4:
        raise ValueError(f"{name} must be a conv weight (C_out, C_in, F_h, F_w), got {tuple(w.shape)}")
    return w


def compose_kernels(
    w1: torch.Tensor,
    w2: torch.Tensor,
    b1: torch.Tensor | None = None,
    b2: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One convolution equal to ``conv(conv(x, w1, b1), w2, b2)`` (stride 1, no padding).

    ``w1`` is ``(C_mid, C_in, F1, F1)`` and ``w2`` is ``(C_out, C_mid, F2, F2)`` in PyTorch's
    layout (a cross-correlation, like ``F.conv2d``). The result has the kernel
    ``W[o, a] = sum_c w2[o, c] (full convolution) w1[c, a]`` of size ``F1 + F2 - 1`` and the bias
    ``b2[o] + sum_{c, r, s} w2[o, c, r, s] b1[c]`` (``None`` when both biases are ``None``).
    With no activation between them, two 3x3 layers are exactly one 5x5 layer.
    """
    w1, w2 = _conv_weight("w1", w1), _conv_weight("w2", w2)
    if w2.shape[1] != w1.shape[0]:
        raise ValueError(f"w2 expects {w2.shape[1]} input channels but w1 produces {w1.shape[0]}")
    f2h, f2w = w2.shape[2:]
    # a full convolution of the kernels: cross-correlate w1 (padded) with w2 flipped
    stacked = F.conv2d(
        w1.transpose(0, 1), w2.flip(2, 3), padding=(f2h - 1, f2w - 1)
    )  # (C_in, C_out, F1 + F2 - 1, ...)
    weight = stacked.transpose(0, 1).contiguous()
    if b1 is None and b2 is None:
        return weight, None
    c_mid, c_out = w1.shape[0], w2.shape[0]
    for name, b, size in (("b1", b1, c_mid), ("b2", b2, c_out)):
        if b is not None and (not isinstance(b, torch.Tensor) or b.shape != (size,)):
            raise ValueError(f"{name} must be None or a tensor of shape ({size},)")
    bias = torch.zeros(c_out, dtype=w2.dtype, device=w2.device)
    if b1 is not None:
        bias = bias + w2.sum(dim=(2, 3)) @ b1
    if b2 is not None:
        bias = bias + b2
    return weight, bias


SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel(x: torch.Tensor) -> torch.Tensor:
    """Edge strength ``sqrt(g_x^2 + g_y^2)`` of every channel, with the 3x3 Sobel kernels.

    ``g_x`` is the cross-correlation with ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]`` (left to
    right), ``g_y`` with its transpose (top to bottom), zero padding keeps the size:
    ``(N, C, H, W) -> (N, C, H, W)``.
    """
    x = _images(x)
    kx = SOBEL_X.to(dtype=x.dtype, device=x.device)
    kernels = torch.stack([kx, kx.T])[:, None]  # (2, 1, 3, 3)
    n, c, h, w = x.shape
    g = F.conv2d(x.reshape(n * c, 1, h, w), kernels, padding=1)
    return g.pow(2).sum(dim=1).sqrt().reshape(n, c, h, w)


class ResidualBlock(nn.Module):
    """``y = x + F(x)`` with ``F(x) = conv2(relu(conv1(x)))``, two 3x3 convolutions (padding 1).

    The skip connection adds the input unchanged, so the block keeps the shape
    ``(N, channels, H, W)``. With ``zero_init=True`` the last convolution of the residual branch
    starts at zero (weights and bias), and the block starts as the identity. (He et al. 2016 add a
    ReLU after the sum and batch normalisation inside ``F``; this is the "pre-activation" form of
    their follow-up paper without the normalisation, so the skip path stays a pure identity.)
    """

    def __init__(self, channels: int, zero_init: bool = False) -> None:
        super().__init__()
        channels = positive_int("channels", channels)
        if not isinstance(zero_init, bool):
            raise TypeError(f"zero_init must be a bool, got {type(zero_init).__name__}")
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        if zero_init:
            nn.init.zeros_(self.conv2.weight)
            nn.init.zeros_(self.conv2.bias)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The residual branch ``F(x)``."""
        return self.conv2(F.relu(self.conv1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x + F(x)``."""
        x = _images(x)
        if x.shape[1] != self.conv1.in_channels:
            raise ValueError(f"expected {self.conv1.in_channels} channels, got {x.shape[1]}")
        return x + self.residual(x)


class InceptionBlock(nn.Module):
    """Four parallel branches whose outputs are concatenated along the channels (GoogLeNet).

    - ``1x1``: ``Conv2d(in, c1, 1)`` -> ReLU
    - ``3x3``: ``Conv2d(in, r3, 1)`` -> ReLU -> ``Conv2d(r3, c3, 3, padding=1)`` -> ReLU
    - ``5x5``: ``Conv2d(in, r5, 1)`` -> ReLU -> ``Conv2d(r5, c5, 5, padding=2)`` -> ReLU
    - ``pool``: ``MaxPool2d(3, stride=1, padding=1)`` -> ``Conv2d(in, cp, 1)`` -> ReLU

    Every branch keeps the height and width, so the output is ``(N, c1 + c3 + c5 + cp, H, W)``.
    The 1x1 "reduce" convolutions (``r3``, ``r5`` channels) make the larger kernels cheap.
    """

    def __init__(self, in_channels: int, c1: int, r3: int, c3: int, r5: int, c5: int, cp: int) -> None:
        super().__init__()
        sizes = {"in_channels": in_channels, "c1": c1, "r3": r3, "c3": c3, "r5": r5, "c5": c5, "cp": cp}
        for name, value in sizes.items():
            positive_int(name, value)
        self.branch1 = nn.Sequential(nn.Conv2d(in_channels, c1, 1), nn.ReLU())
        self.branch3 = nn.Sequential(
            nn.Conv2d(in_channels, r3, 1), nn.ReLU(), nn.Conv2d(r3, c3, 3, padding=1), nn.ReLU()
        )
        self.branch5 = nn.Sequential(
            nn.Conv2d(in_channels, r5, 1), nn.ReLU(), nn.Conv2d(r5, c5, 5, padding=2), nn.ReLU()
        )
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(in_channels, cp, 1), nn.ReLU()
        )
        self.in_channels = in_channels
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The four branches, concatenated along dimension 1."""
        x = _images(x)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"expected {self.in_channels} channels, got {x.shape[1]}")
        branches = (self.branch1, self.branch3, self.branch5, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)


class AuxDigitsCNN(nn.Module):
    """``DigitsCNN`` with an auxiliary classifier after its first stage, for ``(N, 1, 8, 8)``.

    - ``stage1``: ``Conv2d(1, c1, 3, padding=1)`` -> ReLU -> ``MaxPool2d(2)``: ``8x8 -> 4x4``
    - ``stage2``: ``Conv2d(c1, c2, 3, padding=1)`` -> ReLU -> ``MaxPool2d(2)``: ``4x4 -> 2x2``
    - ``classifier``: flatten -> ``Linear(4 c2, 10)`` (the final head)
    - ``aux_classifier``: flatten the stage-1 map -> ``Linear(16 c1, 10)`` (the intermediate head)

    ``forward`` returns ``(final_logits, aux_logits)``; at test time only the first is used.
    """

    def __init__(self, c1: int = 8, c2: int = 16, num_classes: int = 10) -> None:
        super().__init__()
        c1, c2 = positive_int("c1", c1), positive_int("c2", c2)
        num_classes = positive_int("num_classes", num_classes)
        self.stage1 = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.stage2 = nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(4 * c2, num_classes))
        self.aux_classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * c1, num_classes))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(final_logits, aux_logits)``, each ``(N, num_classes)``."""
        x = _images(x)
        if tuple(x.shape[1:]) != (1, 8, 8):
            raise ValueError(f"x must have shape (N, 1, 8, 8), got {tuple(x.shape)}")
        h = self.stage1(x)
        return self.classifier(self.stage2(h)), self.aux_classifier(h)

    @staticmethod
    def loss(
        outputs: tuple[torch.Tensor, torch.Tensor], target: torch.Tensor, aux_weight: float = 0.3
    ) -> torch.Tensor:
        """Total loss ``CE(final, t) + aux_weight * CE(aux, t)`` (GoogLeNet used 0.3)."""
        if not isinstance(outputs, tuple) or len(outputs) != 2:
            raise TypeError("outputs must be the (final_logits, aux_logits) pair of forward()")
        if isinstance(aux_weight, bool) or not isinstance(aux_weight, (int, float)) or aux_weight < 0:
            raise ValueError(f"aux_weight must be a number >= 0, got {aux_weight!r}")
        final, aux = outputs
        return F.cross_entropy(final, target) + aux_weight * F.cross_entropy(aux, target)
