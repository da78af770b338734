"""Small convolutional networks for the 8x8 digits, shared by the CNN chapters."""

from __future__ import annotations

import torch
from torch import nn

from ._checks import positive_int

__all__ = ["DigitsCNN"]


class DigitsCNN(nn.Module):
    """Two conv + ReLU + max-pool stages, then one linear classifier, for ``(N, 1, 8, 8)`` digits.

    - ``encoder``: ``Conv2d(1, c1, 3, padding=1)`` -> ReLU -> ``MaxPool2d(2)`` ->
      ``Conv2d(c1, c2, 3, padding=1)`` -> ReLU -> ``MaxPool2d(2)``: ``8x8 -> 4x4 -> 2x2``.
    - ``classifier``: flatten the ``c2 x 2 x 2`` feature map (the embedding) -> ``Linear(4 c2, 10)``.
    """

    def __init__(self, c1: int = 8, c2: int = 16, num_classes: int = 10) -> None:
        super().__init__()
        for name, value in (("c1", c1), ("c2", c2), ("num_classes", num_classes)):
            positive_int(name, value)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(4 * c2, num_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The flattened feature map of ``x`` (its embedding), shape ``(N, 4 c2)``."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 8, 8):
            raise ValueError(f"x must have shape (N, 1, 8, 8), got {tuple(x.shape)}")
        return self.encoder(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, shape ``(N, num_classes)``."""
        return self.classifier[1](self.embed(x))
