"""Weight initialisation, freezing and layer statistics for the transfer-learning chapter.

- ``fan_in`` and ``uniform_bound``: the number of inputs $n_{in}$ a unit of a layer sees, and the
  rule-of-thumb range $\\pm 1/\\sqrt{n_{in}}$.
- ``init_weights``: put one initialisation scheme into every linear and convolutional layer of a
  model (zeros, a constant, uniform, normal, the $1/\\sqrt{n_{in}}$ rules, Xavier/Glorot, He).
- ``freeze`` and ``count_parameters``: the bookkeeping of transfer learning.
- ``activation_stds``: the standard deviation of the signal after every layer of a stack.
- ``class_selectivity``: how much a unit prefers one class (Morcos et al. 2018).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import float_tensor

__all__ = [
    "SCHEMES",
    "activation_stds",
    "class_selectivity",
    "count_parameters",
    "fan_in",
    "freeze",
    "init_weights",
    "uniform_bound",
]

SCHEMES = (
    "default",
    "zeros",
    "constant",
    "uniform_01",
    "uniform_rule",
    "normal",
    "normal_rule",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
)

_WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _number(name: str, value: object, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return float(value)


def fan_in(layer: nn.Module) -> int:
    """The number of inputs $n_{in}$ each output unit of ``layer`` sums over.

    ``in_features`` for ``nn.Linear``; ``(in_channels / groups) * kernel area`` for a convolution,
    the same number as ``torch.nn.init``'s fan-in.
    """
    if not isinstance(layer, _WEIGHT_LAYERS):
        raise TypeError(f"layer must be nn.Linear or nn.Conv1d/2d/3d, got {type(layer).__name__}")
    return int(layer.weight[0].numel())


def uniform_bound(n_in: int) -> float:
    """The rule-of-thumb bound $1/\\sqrt{n_{in}}$: weights are drawn from $U(-b, b)$."""
    if isinstance(n_in, bool) or not isinstance(n_in, int) or n_in < 1:
        raise ValueError(f"n_in must be a positive int (a number of inputs), got {n_in!r}")
    return 1.0 / math.sqrt(n_in)


@torch.no_grad()
def _init_layer(layer: nn.Module, scheme: str, value: float, std: float, gain: float) -> None:
    w, n = layer.weight, fan_in(layer)
    if scheme == "default":
        layer.reset_parameters()
        return
    if scheme == "zeros":
        nn.init.zeros_(w)
    elif scheme == "constant":
        nn.init.constant_(w, value)
    elif scheme == "uniform_01":
        nn.init.uniform_(w, 0.0, 1.0)
    elif scheme == "uniform_rule":
        nn.init.uniform_(w, -uniform_bound(n), uniform_bound(n))
    elif scheme == "normal":
        nn.init.normal_(w, 0.0, std)
    elif scheme == "normal_rule":
        nn.init.normal_(w, 0.0, gain / math.sqrt(n))
    elif scheme == "xavier_uniform":
        nn.init.xavier_uniform_(w, gain=gain)
    elif scheme == "xavier_normal":
        nn.init.xavier_normal_(w, gain=gain)
    elif scheme == "he_uniform":
        nn.init.kaiming_uniform_(w, nonlinearity="relu")
    else:
        nn.init.kaiming_normal_(w, nonlinearity="relu")
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def init_weights(
    model: nn.Module, scheme: str, *, value: float = 0.0, std: float = 1.0, gain: float = 1.0
) -> nn.Module:
    """Initialise every ``nn.Linear`` / ``nn.ConvNd`` of ``model`` with ``scheme``; return ``model``.

    With $n_{in}$ = ``fan_in(layer)`` and $n_{out}$ its fan-out, the weights are drawn from:

    - ``"default"``: PyTorch's own ``reset_parameters`` (weights *and* biases $U(\\pm 1/\\sqrt{n_{in}})$);
    - ``"zeros"``, ``"constant"``: all 0, all ``value``;
    - ``"uniform_01"``: $U(0, 1)$;  ``"uniform_rule"``: $U(-1/\\sqrt{n_{in}}, 1/\\sqrt{n_{in}})$;
    - ``"normal"``: $N(0, \\text{std}^2)$;  ``"normal_rule"``: $N(0, \\text{gain}^2 / n_{in})$;
    - ``"xavier_uniform"`` / ``"xavier_normal"``: variance $\\text{gain}^2 \\cdot 2/(n_{in} + n_{out})$;
    - ``"he_uniform"`` / ``"he_normal"``: variance $2 / n_{in}$ (for ReLU).

    Every scheme except ``"default"`` sets the biases to zero, so only the weights differ.
    Random draws use PyTorch's global generator: seed it first for reproducible weights.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    value = _number("value", value)
    std = _number("std", std, positive=True)
    gain = _number("gain", gain, positive=True)
    layers = [m for m in model.modules() if isinstance(m, _WEIGHT_LAYERS)]
    if not layers:
        raise ValueError("model has no nn.Linear or nn.Conv1d/2d/3d layer to initialise")
    for layer in layers:
        _init_layer(layer, scheme, value, std, gain)
    return model


def freeze(module: nn.Module) -> nn.Module:
    """Switch off the gradients of all parameters of ``module`` (``requires_grad = False``)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    return module.requires_grad_(False)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters of ``module`` (only those with ``requires_grad`` if asked)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(trainable_only, bool):
        raise TypeError(f"trainable_only must be a bool, got {type(trainable_only).__name__}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


@torch.no_grad()
def activation_stds(stack: nn.Sequential, x: torch.Tensor) -> list[float]:
    """Run ``x`` through ``stack`` and return the standard deviation after every activation.

    An activation is any child that is not a linear or convolutional layer; a stack of weight
    layers only (no activations) reports after every layer instead.
    """
    if not isinstance(stack, nn.Sequential):
        raise TypeError(f"stack must be an nn.Sequential, got {type(stack).__name__}")
    float_tensor("x", x)
    children = list(stack)
    if not children:
        raise ValueError("stack is empty")
    linear_only = all(isinstance(c, _WEIGHT_LAYERS) for c in children)
    stds = []
    for child in children:
        x = child(x)
        if linear_only or not isinstance(child, _WEIGHT_LAYERS):
            stds.append(float(x.std()))
    return stds


def class_selectivity(activations: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Class selectivity index of every unit: $(\\mu_{max} - \\mu_{rest}) / (\\mu_{max} + \\mu_{rest})$.

    ``activations`` is ``(N, C)``, non-negative (e.g. after a ReLU, averaged over positions);
    ``labels`` the ``(N,)`` integer classes. For unit $c$, $\\mu_{max}$ is its largest
    class-conditional mean activation and $\\mu_{rest}$ the mean of its other class means
    (Morcos et al. 2018). 0: the unit responds to all classes alike; 1: to one class only.
    A unit that never fires gets 0.
    """
    float_tensor("activations", activations)
    if activations.dim() != 2:
        raise ValueError(f"activations must be (N, C), got shape {tuple(activations.shape)}")
    if (activations < 0).any():
        raise ValueError("activations must be non-negative (take them after a ReLU)")
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int64, torch.int32):
        raise TypeError("labels must be an integer torch.Tensor of classes")
    if labels.shape != activations.shape[:1]:
        raise ValueError(f"labels must have shape ({len(activations)},), got {tuple(labels.shape)}")
    classes = torch.unique(labels)
    if len(classes) < 2:
        raise ValueError("need at least two classes to measure selectivity")
    means = torch.stack([activations[labels == k].mean(dim=0) for k in classes])  # (K, C)
    top = means.max(dim=0).values
    rest = (means.sum(dim=0) - top) / (len(classes) - 1)
    total = top + rest
    return torch.where(total > 0, (top - rest) / total.clamp_min(1e-12), torch.zeros_like(total))
