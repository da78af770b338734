"""Odds and ends from the flashcards: PCA, FLOPs, latency and CTC, written out.

- ``pca_eig``: principal component analysis by the eigendecomposition of the covariance matrix
  (centred by default; ``center=False`` shows what goes wrong without it), with
  ``pca_transform`` to project data onto the components;
- ``linear_flops``, ``conv2d_flops`` and ``count_flops``: floating-point operations of
  ``nn.Linear`` and ``nn.Conv2d`` by hand, counting a multiply-add as 2 FLOPs, as
  ``torch.utils.flop_counter.FlopCounterMode`` does;
- ``time_calls`` and ``latency_percentiles``: wall-clock latency of a call, after a warm-up,
  synchronising the GPU, summarised by percentiles;
- ``ctc_collapse``, ``ctc_alignments``, ``ctc_brute_force_nll``, ``ctc_log_alpha``,
  ``ctc_forward_nll`` and ``best_path_decode``: connectionist temporal classification, by
  summing over every alignment and by the forward recursion of Graves et al. (2006).

``tests/test_odds.py`` checks each against scikit-learn, ``FlopCounterMode``, NumPy and
``nn.CTCLoss``, and tests the input checks.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "PCAResult",
    "pca_eig",
    "pca_transform",
    "linear_flops",
    "conv2d_flops",
    "count_flops",
    "time_calls",
    "latency_percentiles",
    "ctc_collapse",
    "ctc_alignments",
    "ctc_brute_force_nll",
    "ctc_log_alpha",
    "ctc_forward_nll",
    "best_path_decode",
]


# --------------------------------------------------------------------------------------------
# PCA
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PCAResult:
    """What ``pca_eig`` returns (NumPy float64 arrays).

    - ``components``: ``(k, d)``, one unit eigenvector per row, largest eigenvalue first;
    - ``eigenvalues``: ``(k,)``, the variance of the data along each component (scikit-learn's
      ``explained_variance_``) when the data were centred;
    - ``ratio``: ``eigenvalues`` divided by the sum of all ``d`` eigenvalues (the total variance);
    - ``mean``: ``(d,)``, the mean that was subtracted (zeros when ``center=False``).
    """

    components: np.ndarray
    eigenvalues: np.ndarray
    ratio: np.ndarray
    mean: np.ndarray


def _data_matrix(x: object) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a NumPy array or a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"x must be a 2-D (n_samples >= 2, n_features >= 1) array, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise ValueError("x must hold finite numbers")
    return x.astype(np.float64)


def pca_eig(x: object, k: int | None = None, center: bool = True) -> PCAResult:
    """PCA of the rows of ``x`` (``(n, d)``) by the eigendecomposition of its covariance matrix.

    Steps: subtract the mean of each feature (unless ``center=False``), form the covariance
    ``C = X^T X / (n - 1)``, take its eigenvectors (``numpy.linalg.eigh``), sort them by
    eigenvalue, largest first, and keep the top ``k`` (all ``d`` when ``k`` is ``None``). Each
    eigenvector's sign is chosen so that its largest entry in absolute value is positive, the
    convention of scikit-learn's ``PCA``. With ``center=False`` the matrix is the second moment
    ``X^T X / (n - 1)`` of the raw data, and its top eigenvector points towards the mean.
    """
    data = _data_matrix(x)
    n, d = data.shape
    if k is None:
        k = d
    k = positive_int("k", k)
    if k > d:
        raise ValueError(f"k must be at most the number of features {d}, got {k}")
    if not isinstance(center, bool):
        raise TypeError(f"center must be a bool, got {type(center).__name__}")
    mean = data.mean(axis=0) if center else np.zeros(d)
    centred = data - mean
    matrix = centred.T @ centred / (n - 1)
    values, vectors = np.linalg.eigh(matrix)
    order = np.argsort(values)[::-1]
    values, vectors = np.clip(values[order], 0.0, None), vectors[:, order].T
    biggest = np.argmax(np.abs(vectors), axis=1)
    vectors = vectors * np.sign(vectors[np.arange(d), biggest])[:, None]
    total = values.sum()
    ratio = values / total if total > 0 else np.zeros(d)
    return PCAResult(vectors[:k], values[:k], ratio[:k], mean)


def pca_transform(x: object, pca: PCAResult) -> np.ndarray:
    """The coordinates ``(x - mean) @ components.T`` of the rows of ``x`` on the components."""
    if not isinstance(pca, PCAResult):
        raise TypeError(f"pca must be a PCAResult from pca_eig, got {type(pca).__name__}")
    data = _data_matrix(x)
    if data.shape[1] != pca.components.shape[1]:
        raise ValueError(f"x has {data.shape[1]} features, the components {pca.components.shape[1]}")
    return (data - pca.mean) @ pca.components.T


# --------------------------------------------------------------------------------------------
# FLOPs
# --------------------------------------------------------------------------------------------
def linear_flops(n: int, in_features: int, out_features: int) -> int:
    """FLOPs of ``nn.Linear(in_features, out_features)`` on ``n`` inputs: ``2 n d_in d_out``.

    Each of the ``n d_out`` outputs is a dot product of length ``d_in`` plus the bias: ``d_in``
    multiplications and ``d_in`` additions. ``FlopCounterMode`` counts the same ``2 d_in`` per
    output (a multiply-add as 2 FLOPs) and ignores the bias; one multiply-add is one "MAC".
    """
    for name, value in (("n", n), ("in_features", in_features), ("out_features", out_features)):
        positive_int(name, value)
    return 2 * n * in_features * out_features


def conv2d_flops(
    n: int,
    in_channels: int,
    out_channels: int,
    kernel_size: int | Sequence[int],
    out_size: int | Sequence[int],
    groups: int = 1,
) -> int:
    """FLOPs of ``nn.Conv2d`` on ``n`` images: ``2 n C_out H_out W_out (C_in / groups) k_h k_w``.

    Every output value is a dot product of the ``(C_in / groups) k_h k_w`` weights of one filter
    with the input patch under it, i.e. that many multiply-adds, counted as 2 FLOPs each (bias
    ignored, as in ``FlopCounterMode``). ``out_size`` is the output's ``(H_out, W_out)``.
    """
    for name, value in (
        ("n", n),
        ("in_channels", in_channels),
        ("out_channels", out_channels),
        ("groups", groups),
    ):
        positive_int(name, value)
    kh, kw = _pair("kernel_size", kernel_size)
    h_out, w_out = _pair("out_size", out_size)
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}"
        )
    return 2 * n * out_channels * h_out * w_out * (in_channels // groups) * kh * kw


def _pair(name: str, value: object) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
    return positive_int(name, pair[0]), positive_int(name, pair[1])


def count_flops(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """FLOPs of one forward pass of ``model`` on ``x``, by hand, per ``nn.Linear`` / ``nn.Conv2d``.

    Forward hooks read each layer's input and output shapes and apply ``linear_flops`` or
    ``conv2d_flops``; other layers (activations, pooling, normalisation) are not counted, as in
    ``FlopCounterMode``. Returns ``{layer name: FLOPs}`` in call order, plus ``"total"``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    float_tensor("x", x)
    counts: dict[str, int] = {}

    def hook(name: str) -> Callable:
        def record(layer: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            if isinstance(layer, nn.Linear):
                rows = inputs[0].numel() // layer.in_features
                flops = linear_flops(rows, layer.in_features, layer.out_features)
            else:
                flops = conv2d_flops(
                    output.shape[0],
                    layer.in_channels,
                    layer.out_channels,
                    layer.kernel_size,
                    tuple(output.shape[2:]),
                    layer.groups,
                )
            counts[name] = counts.get(name, 0) + flops

        return record

    handles = [
        m.register_forward_hook(hook(name))
        for name, m in model.named_modules()
        if isinstance(m, (nn.Linear, nn.Conv2d))
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    counts["total"] = sum(counts.values())
    return counts


# --------------------------------------------------------------------------------------------
# latency
# --------------------------------------------------------------------------------------------
def _synchronizer(device: object) -> Callable[[], None]:
    if device is None:
        return lambda: None
    device = torch.device(device)
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    if device.type == "mps":
        return torch.mps.synchronize
    return lambda: None


def time_calls(
    fn: Callable[[], object], repeats: int = 100, warmup: int = 10, device: object = None
) -> np.ndarray:
    """Wall-clock seconds of ``repeats`` calls of ``fn()``, each timed on its own, after ``warmup``.

    The warm-up calls are not timed: the first calls pay one-off costs (memory allocation, lazy
    initialisation, caches). On a GPU (``device`` of type ``cuda`` or ``mps``) kernels run
    asynchronously, so the device is synchronised before the clock starts and before it stops;
    otherwise only the time to *launch* the work would be measured.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    repeats = positive_int("repeats", repeats)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, got {warmup!r}")
    sync = _synchronizer(device)
    for _ in range(warmup):
        fn()
    seconds = np.empty(repeats)
    for i in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        seconds[i] = time.perf_counter() - start
    return seconds


def latency_percentiles(seconds: object, percentiles: Sequence[float] = (50, 90, 99)) -> dict[str, float]:
    """``{"p50": ..., "p90": ..., "p99": ...}``: percentiles of the timings (linear interpolation,
    NumPy's default), in the unit of ``seconds``."""
    values = np.asarray(seconds, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("seconds must be a non-empty 1-D sequence of finite times >= 0")
    qs = list(percentiles)
    if not qs or any(isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q <= 100 for q in qs):
        raise ValueError(f"percentiles must be numbers in [0, 100], got {percentiles!r}")
    return {f"p{q:g}": float(np.percentile(values, q)) for q in qs}


# --------------------------------------------------------------------------------------------
# CTC
# --------------------------------------------------------------------------------------------
def _labels(name: str, seq: object) -> list[int]:
    if isinstance(seq, torch.Tensor):
        if seq.dim() != 1 or seq.is_floating_point():
            raise ValueError(
                f"{name} must be a 1-D integer sequence, got a tensor of shape {tuple(seq.shape)}"
            )
        seq = seq.tolist()
    if not isinstance(seq, (list, tuple)) or any(isinstance(s, bool) or not isinstance(s, int) for s in seq):
        raise ValueError(f"{name} must be a 1-D sequence of ints, got {seq!r}")
    return list(seq)


def _blank(blank: object) -> int:
    if isinstance(blank, bool) or not isinstance(blank, int) or blank < 0:
        raise ValueError(f"blank must be an int >= 0, got {blank!r}")
    return blank


def ctc_collapse(path: object, blank: int = 0) -> list[int]:
    """The labelling of a frame-by-frame path: merge runs of repeated labels, then drop blanks.

    ``[a, a, -, a, b, b]`` becomes ``[a, a, b]``: a blank between two equal labels keeps both.
    """
    labels, blank = _labels("path", path), _blank(blank)
    merged = [s for i, s in enumerate(labels) if i == 0 or s != labels[i - 1]]
    return [s for s in merged if s != blank]


def _log_probs(log_probs: object) -> torch.Tensor:
    float_tensor("log_probs", log_probs)
    if log_probs.dim() != 2 or log_probs.shape[0] < 1 or log_probs.shape[1] < 2:
        raise ValueError(
            f"log_probs must have shape (T, C) with T >= 1 and C >= 2, got {tuple(log_probs.shape)}"
        )
    return log_probs.detach().cpu().double()


def _target(target: object, n_classes: int, blank: int) -> list[int]:
    labels = _labels("target", target)
    if any(not 0 <= s < n_classes or s == blank for s in labels):
        raise ValueError(
            f"target labels must lie in [0, {n_classes}) and differ from the blank {blank}, got {labels}"
        )
    return labels


def ctc_alignments(target: object, n_frames: int, n_classes: int, blank: int = 0) -> list[tuple[int, ...]]:
    """Every path of ``n_frames`` labels from ``range(n_classes)`` that collapses to ``target``.

    Brute force over all ``n_classes ** n_frames`` paths (at most a million).
    """
    n_frames, n_classes, blank = (
        positive_int("n_frames", n_frames),
        positive_int("n_classes", n_classes),
        _blank(blank),
    )
    if blank >= n_classes:
        raise ValueError(f"blank {blank} must be one of the {n_classes} classes")
    labels = _target(target, n_classes, blank)
    if n_classes**n_frames > 10**6:
        raise ValueError(f"{n_classes}**{n_frames} paths is too many to enumerate (limit 10**6)")
    return [
        p for p in itertools.product(range(n_classes), repeat=n_frames) if ctc_collapse(p, blank) == labels
    ]


def ctc_brute_force_nll(log_probs: torch.Tensor, target: object, blank: int = 0) -> float:
    """``-log p(target | x)`` by summing, over every alignment, the product of its frame probabilities.

    ``log_probs`` is ``(T, C)``: the log-probabilities of the ``C`` classes at each of ``T``
    frames (for example a ``log_softmax`` output). ``inf`` when no alignment exists.
    """
    lp = _log_probs(log_probs)
    paths = ctc_alignments(target, lp.shape[0], lp.shape[1], blank)
    if not paths:
        return math.inf
    index = torch.tensor(paths)
    scores = lp.gather(1, index.T).sum(0)
    return -torch.logsumexp(scores, 0).item()


def ctc_log_alpha(log_probs: torch.Tensor, target: object, blank: int = 0) -> torch.Tensor:
    """The forward variables ``log alpha_t(s)`` of CTC, shape ``(2U + 1, T)``, float64.

    The extended target puts a blank before, between and after the ``U`` labels. ``alpha_t(s)``
    is the total probability of the path prefixes of length ``t`` that end in extended position
    ``s``; a prefix can stay on ``s``, come from ``s - 1``, or skip a blank from ``s - 2`` when the
    labels at ``s`` and ``s - 2`` differ (Graves et al. 2006, eq. 6-7). ``-inf`` marks zero.
    """
    lp = _log_probs(log_probs)
    n_frames, n_classes = lp.shape
    blank = _blank(blank)
    if blank >= n_classes:
        raise ValueError(f"blank {blank} must be one of the {n_classes} classes")
    labels = _target(target, n_classes, blank)
    ext = [blank]
    for s in labels:
        ext += [s, blank]
    alpha = torch.full((len(ext), n_frames), -math.inf, dtype=torch.float64)
    alpha[0, 0] = lp[0, blank]
    if labels:
        alpha[1, 0] = lp[0, ext[1]]
    for t in range(1, n_frames):
        for s in range(len(ext)):
            terms = [alpha[s, t - 1]]
            if s >= 1:
                terms.append(alpha[s - 1, t - 1])
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                terms.append(alpha[s - 2, t - 1])
            alpha[s, t] = torch.logsumexp(torch.stack(terms), 0) + lp[t, ext[s]]
    return alpha


def ctc_forward_nll(log_probs: torch.Tensor, target: object, blank: int = 0) -> float:
    """``-log p(target | x)`` by the forward recursion: paths end on the last label or the blank after it.

    The same number as ``ctc_brute_force_nll`` and as ``nn.CTCLoss(reduction="sum")`` for one
    sequence, in ``O(T U)`` steps instead of ``C ** T``; ``inf`` when no alignment fits in ``T``.
    """
    alpha = ctc_log_alpha(log_probs, target, blank)
    ends = alpha[-2:, -1] if alpha.shape[0] > 1 else alpha[-1:, -1]
    return -torch.logsumexp(ends, 0).item()


def best_path_decode(log_probs: torch.Tensor, blank: int = 0) -> list[int]:
    """Greedy (best-path) decoding: the most likely class at each frame, then ``ctc_collapse``.

    Fast, but the most likely *path* need not collapse to the most likely *labelling*, whose
    probability sums over many paths.
    """
    lp = _log_probs(log_probs)
    blank = _blank(blank)
    if blank >= lp.shape[1]:
        raise ValueError(f"blank {blank} must be one of the {lp.shape[1]} classes")
    return ctc_collapse(lp.argmax(1).tolist(), blank)
