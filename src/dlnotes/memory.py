"""Differentiable external memory: the read, write and addressing of a Neural Turing Machine.

The equations are those of Graves et al. (2014), "Neural Turing Machines" (Section 3):

- ``read``: ``r_t = sum_i w_t(i) M_t(i)`` (eq. 2), a weighted sum of the memory's rows.
- ``write``: erase ``M~_t(i) = M_{t-1}(i) [1 - w_t(i) e_t]`` (eq. 3), then add
  ``M_t(i) = M~_t(i) + w_t(i) a_t`` (eq. 4).
- ``cosine_similarity`` and ``content_weights``: content-based addressing,
  ``w^c_t(i) = softmax_i(beta_t K[k_t, M_t(i)])`` with the cosine similarity ``K`` (eq. 5-6).
- ``interpolate``, ``shift`` and ``sharpen``: location-based addressing, the gate
  ``w^g = g w^c + (1 - g) w_{t-1}`` (eq. 7), the circular convolution
  ``w~(i) = sum_j w^g(j) s(i - j)`` (eq. 8) and ``w(i) = w~(i)^gamma / sum_j w~(j)^gamma`` (eq. 9).
- ``address``: the four steps in a row.

Every function accepts a single memory ``(N, M)`` or a batch ``(B, N, M)``; weightings have shape
``(N,)`` or ``(B, N)``. Each is checked in ``tests/test_memory.py`` against NumPy / SciPy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "cosine_similarity",
    "content_weights",
    "read",
    "write",
    "interpolate",
    "shift",
    "sharpen",
    "address",
]


def _tensor(x: object, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def _memory(memory: object) -> torch.Tensor:
    memory = _tensor(memory, "memory")
    if memory.dim() not in (2, 3):
        raise ValueError(f"memory must have shape (N, M) or (B, N, M), got {tuple(memory.shape)}")
    return memory


def _weighting(w: object, memory: torch.Tensor, name: str = "w") -> torch.Tensor:
    w = _tensor(w, name)
    if w.shape != memory.shape[:-1]:
        raise ValueError(
            f"{name} must have shape {tuple(memory.shape[:-1])} (one weight per memory row), "
            f"got {tuple(w.shape)}"
        )
    return w


def _row_vector(v: object, memory: torch.Tensor, name: str) -> torch.Tensor:
    v = _tensor(v, name)
    expected = memory.shape[:-2] + memory.shape[-1:]
    if v.shape != expected:
        raise ValueError(
            f"{name} must have shape {tuple(expected)} (one entry per memory column), got {tuple(v.shape)}"
        )
    return v


def _scalar_or_batch(x: object, memory: torch.Tensor, name: str) -> torch.Tensor:
    """A Python number or a tensor of shape () or (B,), returned broadcastable against (.., N)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, torch.Tensor)):
        raise TypeError(f"{name} must be a number or a tensor, got {type(x).__name__}")
    t = torch.as_tensor(x, dtype=memory.dtype, device=memory.device)
    if t.dim() == 0:
        return t
    if memory.dim() == 3 and t.shape == memory.shape[:1]:
        return t.unsqueeze(-1)
    raise ValueError(
        f"{name} must be a number or have shape ({memory.shape[0]},) for a batch, got {tuple(t.shape)}"
    )


def cosine_similarity(key: torch.Tensor, memory: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Cosine similarity ``K[k, M(i)] = k . M(i) / (|k| |M(i)|)`` of a key with every memory row.

    ``key`` has shape ``(M,)`` (or ``(B, M)`` for a batch of memories); returns shape ``(N,)``
    (or ``(B, N)``). ``eps`` keeps the division safe for an all-zero row.
    """
    memory = _memory(memory)
    key = _row_vector(key, memory, "key")
    return F.cosine_similarity(key.unsqueeze(-2), memory, dim=-1, eps=eps)


def content_weights(key: torch.Tensor, memory: torch.Tensor, beta: float | torch.Tensor) -> torch.Tensor:
    """Content-based addressing (NTM eq. 5): ``softmax_i(beta K[k, M(i)])``.

    ``beta >= 0`` is the key strength: 0 spreads the weight evenly over the rows, a large value
    puts almost all of it on the most similar row.
    """
    memory = _memory(memory)
    beta = _scalar_or_batch(beta, memory, "beta")
    if (beta < 0).any():
        raise ValueError("beta (the key strength) must be >= 0")
    return torch.softmax(beta * cosine_similarity(key, memory), dim=-1)


def read(memory: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Read vector (NTM eq. 2): ``r = sum_i w(i) M(i)``, shape ``(M,)`` or ``(B, M)``."""
    memory = _memory(memory)
    w = _weighting(w, memory)
    return (w.unsqueeze(-2) @ memory).squeeze(-2)


def write(memory: torch.Tensor, w: torch.Tensor, erase: torch.Tensor, add: torch.Tensor) -> torch.Tensor:
    """Write (NTM eq. 3-4): erase ``M(i) [1 - w(i) e]``, then add ``w(i) a``; returns a new memory.

    ``erase`` entries lie in ``[0, 1]``: 1 wipes that column of a fully addressed row, 0 keeps it.
    """
    memory = _memory(memory)
    w = _weighting(w, memory)
    erase = _row_vector(erase, memory, "erase")
    add = _row_vector(add, memory, "add")
    if ((erase < 0) | (erase > 1)).any():
        raise ValueError("erase entries must lie in [0, 1]")
    w_col = w.unsqueeze(-1)
    erased = memory * (1 - w_col * erase.unsqueeze(-2))
    return erased + w_col * add.unsqueeze(-2)


def interpolate(w_content: torch.Tensor, w_prev: torch.Tensor, g: float | torch.Tensor) -> torch.Tensor:
    """Interpolation gate (NTM eq. 7): ``g w_content + (1 - g) w_prev`` with ``0 <= g <= 1``."""
    w_content = _tensor(w_content, "w_content")
    w_prev = _tensor(w_prev, "w_prev")
    if w_content.shape != w_prev.shape:
        raise ValueError(
            "w_content and w_prev must have the same shape, got "
            f"{tuple(w_content.shape)} and {tuple(w_prev.shape)}"
        )
    g = torch.as_tensor(g, dtype=w_content.dtype, device=w_content.device)
    if ((g < 0) | (g > 1)).any():
        raise ValueError("g (the interpolation gate) must lie in [0, 1]")
    if g.dim() == 1 and w_content.dim() == 2:
        g = g.unsqueeze(-1)
    return g * w_content + (1 - g) * w_prev


def shift(w: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Circular convolution (NTM eq. 8): ``w~(i) = sum_j w(j) s(i - j)``, indices modulo ``N``.

    ``s`` is a distribution over the shifts ``-k, ..., 0, ..., +k``: odd length ``2k + 1``, centred
    on shift 0, shape ``(2k + 1,)`` or ``(B, 2k + 1)``. ``s = (0, 0, 1)`` moves the weighting one row
    forward; ``(0, 1, 0)`` keeps it.
    """
    w = _tensor(w, "w")
    s = _tensor(s, "s")
    if w.dim() not in (1, 2) or s.dim() != w.dim() or (w.dim() == 2 and s.shape[0] != w.shape[0]):
        raise ValueError(
            f"s must have shape (2k + 1,) or (B, 2k + 1) matching w {tuple(w.shape)}, got {tuple(s.shape)}"
        )
    width = s.shape[-1]
    if width % 2 == 0 or width > w.shape[-1]:
        raise ValueError(f"s must have an odd length of at most N = {w.shape[-1]}, got {width}")
    k = width // 2
    out = torch.zeros_like(w)
    for offset in range(-k, k + 1):
        out = out + s[..., offset + k].unsqueeze(-1) * torch.roll(w, offset, dims=-1)
    return out


def sharpen(w: torch.Tensor, gamma: float | torch.Tensor) -> torch.Tensor:
    """Sharpening (NTM eq. 9): ``w(i)^gamma / sum_j w(j)^gamma`` with ``gamma >= 1``."""
    w = _tensor(w, "w")
    gamma = torch.as_tensor(gamma, dtype=w.dtype, device=w.device)
    if (gamma < 1).any():
        raise ValueError("gamma (the sharpening exponent) must be >= 1")
    if (w < 0).any():
        raise ValueError("w must be non-negative")
    if gamma.dim() == 1 and w.dim() == 2:
        gamma = gamma.unsqueeze(-1)
    powered = w**gamma
    return powered / powered.sum(dim=-1, keepdim=True)


def address(
    memory: torch.Tensor,
    key: torch.Tensor,
    beta: float | torch.Tensor,
    g: float | torch.Tensor,
    s: torch.Tensor,
    gamma: float | torch.Tensor,
    w_prev: torch.Tensor,
) -> torch.Tensor:
    """The NTM's addressing pipeline: content (eq. 5), interpolation (7), shift (8), sharpening (9)."""
    w_prev = _weighting(w_prev, _memory(memory), "w_prev")
    w = content_weights(key, memory, beta)
    return sharpen(shift(interpolate(w, w_prev, g), s), gamma)
