"""Kullback-Leibler divergence: discrete, Gaussian closed form and Monte Carlo (Find out chapter 1)."""

from __future__ import annotations

import math

import numpy as np
import torch


def _distribution(p: object, name: str) -> np.ndarray:
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one outcome along its last axis")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must contain finite non-negative probabilities")
    if not np.allclose(arr.sum(-1), 1.0, atol=1e-6):
        raise ValueError(f"{name} must sum to 1 along its last axis")
    return arr


def _pair(p: object, q: object) -> tuple[np.ndarray, np.ndarray]:
    p_arr, q_arr = _distribution(p, "p"), _distribution(q, "q")
    if p_arr.shape != q_arr.shape:
        raise ValueError(f"p and q must have the same shape, got {p_arr.shape} and {q_arr.shape}")
    return p_arr, q_arr


def entropy(p: object) -> np.ndarray | float:
    """Entropy ``H(p) = -sum_k p_k log p_k`` in nats along the last axis (``0 log 0 = 0``)."""
    p_arr = _distribution(p, "p")
    terms = np.where(p_arr > 0, -p_arr * np.log(np.where(p_arr > 0, p_arr, 1.0)), 0.0)
    return terms.sum(-1)


def cross_entropy(p: object, q: object) -> np.ndarray | float:
    """Cross-entropy ``H(p, q) = -sum_k p_k log q_k`` in nats; ``inf`` where q_k = 0 < p_k."""
    p_arr, q_arr = _pair(p, q)
    with np.errstate(divide="ignore"):
        log_q = np.log(q_arr)
    terms = np.where(p_arr > 0, -p_arr * log_q, 0.0)
    return terms.sum(-1)


def kl_discrete(p: object, q: object) -> np.ndarray | float:
    """``D_KL(p || q) = sum_k p_k log(p_k / q_k)`` in nats along the last axis.

    Terms with ``p_k = 0`` count 0; a ``q_k = 0`` where ``p_k > 0`` makes the divergence ``inf``.
    Equals ``scipy.stats.entropy(p, q)`` and ``scipy.special.rel_entr(p, q).sum()``.
    """
    p_arr, q_arr = _pair(p, q)
    with np.errstate(divide="ignore"):
        ratio = np.log(np.where(p_arr > 0, p_arr, 1.0)) - np.log(q_arr)
    return np.where(p_arr > 0, p_arr * ratio, 0.0).sum(-1)


def gaussian_kl(
    mu_q: torch.Tensor, sigma_q: torch.Tensor, mu_p: torch.Tensor, sigma_p: torch.Tensor
) -> torch.Tensor:
    """Closed-form ``D_KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2))``, elementwise (broadcast).

    ``log(sigma_p / sigma_q) + (sigma_q^2 + (mu_q - mu_p)^2) / (2 sigma_p^2) - 1/2``; sum over the
    last axis for a diagonal Gaussian. Differentiable in all four arguments.
    """
    args = [torch.as_tensor(a) for a in (mu_q, sigma_q, mu_p, sigma_p)]
    if not all(a.is_floating_point() for a in args):
        raise TypeError("means and standard deviations must be floating-point tensors or floats")
    mu_q, sigma_q, mu_p, sigma_p = args
    if bool((sigma_q <= 0).any()) or bool((sigma_p <= 0).any()):
        raise ValueError("standard deviations must be positive")
    return torch.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p) ** 2) / (2 * sigma_p**2) - 0.5


def monte_carlo_kl(z: torch.Tensor, log_q: object, log_p: object) -> tuple[float, float]:
    """Estimate ``D_KL(q || p) = E_q[log q(z) - log p(z)]`` from samples ``z`` drawn from q.

    ``log_q`` and ``log_p`` map the samples to their log-densities. Returns the estimate and its
    standard error (the sample standard deviation of the log-ratio over ``sqrt(n)``).
    """
    if not isinstance(z, torch.Tensor) or z.ndim == 0 or len(z) < 2:
        raise ValueError("z must be a tensor of at least 2 samples along its first axis")
    if not (callable(log_q) and callable(log_p)):
        raise TypeError("log_q and log_p must be callables returning log-densities")
    ratio = log_q(z) - log_p(z)
    if ratio.shape[:1] != z.shape[:1]:
        raise ValueError("log_q and log_p must return one log-density per sample")
    return float(ratio.mean()), float(ratio.std() / math.sqrt(len(ratio)))


def linreg_posterior(
    x: torch.Tensor, y: torch.Tensor, noise_var: float, prior_var: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact posterior of Bayesian linear regression ``y = X w + noise``, ``w ~ N(0, prior_var I)``.

    Returns the mean ``S X^T y / noise_var`` and covariance
    ``S = (I / prior_var + X^T X / noise_var)^{-1}``.
    """
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise ValueError("x must be (N, D) and y must be (N,) with the same N")
    if noise_var <= 0 or prior_var <= 0:
        raise ValueError("noise_var and prior_var must be positive")
    precision = torch.eye(x.shape[1], dtype=x.dtype) / prior_var + x.T @ x / noise_var
    cov = torch.linalg.inv(precision)
    return cov @ x.T @ y / noise_var, cov
