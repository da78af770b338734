"""dlnotes: the helper package shared by every chapter of the course book.

The notebooks teach; this package holds the code that more than one chapter needs and every
formula the notes state, each checked against a reference implementation in ``tests/``.

``import dlnotes`` loads only PyTorch and NumPy: the submodules import what they need themselves
(``dlnotes.data`` imports scikit-learn or networkx inside the loader that needs it,
``dlnotes.plot`` matplotlib, ``dlnotes.widgets`` ipywidgets), so the kernel-start floor every
notebook pays stays low. ``tests/test_core.py`` checks it.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["seed_everything", "device", "__version__"]
__version__ = "0.1.0"

_KNOWN_DEVICES = ("cpu", "cuda", "mps")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and every GPU) so a notebook is reproducible.

    Also fixes the numerics that would otherwise change results between runs or devices:
    cuDNN picks deterministic kernels and does not benchmark (``cudnn.deterministic = True``,
    ``cudnn.benchmark = False``), and TF32 is off for matrix products and convolutions
    (``torch.backends.cuda.matmul.allow_tf32 = False``, ``torch.backends.cudnn.allow_tf32 =
    False``), so a CUDA run computes in full float32 like the CPU.

    Returns ``None``, so a cell that ends with it prints nothing. Code that needs its own random
    stream creates a CPU generator, ``torch.Generator().manual_seed(seed)``: tensors drawn on the
    CPU and moved with ``.to(device)`` are the same on every device (README, "Output contract").

    >>> seed_everything(0)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def _available(name: str) -> bool:
    if name == "cpu":
        return True
    if name == "cuda":
        return torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def device(preferred: str | None = None) -> torch.device:
    """The device chapters compute on: CUDA, then Apple MPS, then the CPU.

    ``preferred`` (or, when it is ``None``, the ``DLNOTES_DEVICE`` environment variable) forces one
    of ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``; asking for a device this machine lacks is a
    ``RuntimeError`` rather than a silent fall-back, so a GPU run never quietly runs on the CPU.
    """
    choice = preferred if preferred is not None else os.environ.get("DLNOTES_DEVICE", "")
    if not isinstance(choice, str):
        raise TypeError(f"device name must be a str, got {type(choice).__name__}")
    choice = choice.strip().lower()
    if not choice:
        for name in ("cuda", "mps"):
            if _available(name):
                return torch.device(name)
        return torch.device("cpu")
    base, _, index = choice.partition(":")
    if base not in _KNOWN_DEVICES or (index and (base != "cuda" or not index.isdigit())):
        raise ValueError(
            f"unknown device {choice!r}: use one of 'cpu', 'cuda', 'cuda:N' or 'mps'"
        )
    if not _available(base):
        raise RuntimeError(f"device {choice!r} was requested but is not available on this machine")
    if index and int(index) >= torch.cuda.device_count():
        raise RuntimeError(
            f"device {choice!r} was requested but only {torch.cuda.device_count()} CUDA device(s) exist"
        )
    return torch.device(choice)
