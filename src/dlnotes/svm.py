"""Support vector machines from their dual problem, and the kernels they use.

Everything here is NumPy in float64, like scikit-learn's ``SVC`` it is checked against. Labels are
``-1`` and ``+1``. The soft-margin SVM solves the primal problem

    min_{w, b}  1/2 ||w||^2 + C sum_n max(0, 1 - t_n (w . x_n + b)),

through its dual, a quadratic programme in one multiplier ``alpha_n`` per training example:

    max_alpha  sum_n alpha_n - 1/2 sum_{n, m} alpha_n alpha_m t_n t_m k(x_n, x_m)
    subject to 0 <= alpha_n <= C  and  sum_n alpha_n t_n = 0.

The dual touches the data only through the kernel ``k(x_n, x_m)`` (the inner product of two
feature vectors), which is the kernel trick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize

__all__ = [
    "KERNELS",
    "DualSVM",
    "as_points",
    "as_labels",
    "linear_kernel",
    "polynomial_kernel",
    "rbf_kernel",
    "gram",
    "poly2_feature_map",
    "rbf_feature_map_1d",
    "fit_dual",
    "kernel_decision_function",
    "hinge_objective",
    "slack",
    "margin_width",
]

KERNELS = ("linear", "poly", "rbf")


def as_points(name: str, x: object) -> np.ndarray:
    """``x`` (a NumPy array or a torch tensor) as a finite float64 array of shape ``(N, D)``."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array or a torch.Tensor, got {type(x).__name__}")
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, D) with N, D >= 1, got {x.shape}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite (no nan or inf)")
    return x


def as_labels(t: object, n: int) -> np.ndarray:
    """Labels ``t`` as a float64 vector of ``n`` entries, each -1 or +1, with both classes present."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    if not isinstance(t, np.ndarray):
        raise TypeError(f"t must be a NumPy array or a torch.Tensor, got {type(t).__name__}")
    if t.shape != (n,):
        raise ValueError(f"t must have shape ({n},), one label per point, got {t.shape}")
    if not np.isin(t, (-1, 1)).all():
        raise ValueError("t must hold labels -1 and +1 only (map 0/1 labels with 2 * t - 1)")
    if np.unique(t).size != 2:
        raise ValueError("t must contain both classes, -1 and +1")
    return t.astype(np.float64)


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _pair(x: object, y: object | None) -> tuple[np.ndarray, np.ndarray]:
    x = as_points("x", x)
    y = x if y is None else as_points("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same number of features, got {x.shape[1]} and {y.shape[1]}")
    return x, y


def linear_kernel(x: object, y: object | None = None) -> np.ndarray:
    """The matrix of inner products ``k(x_n, y_m) = x_n . y_m``, shape ``(N, M)``."""
    x, y = _pair(x, y)
    return x @ y.T


def polynomial_kernel(
    x: object, y: object | None = None, degree: int = 2, gamma: float = 1.0, coef0: float = 1.0
) -> np.ndarray:
    """``k(x_n, y_m) = (gamma x_n . y_m + coef0) ** degree`` (scikit-learn's parametrisation)."""
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1:
        raise ValueError(f"degree must be a positive int, got {degree!r}")
    gamma = _positive("gamma", gamma)
    if isinstance(coef0, bool) or not isinstance(coef0, (int, float)) or coef0 < 0:
        raise ValueError(f"coef0 must be a number >= 0, got {coef0!r}")
    x, y = _pair(x, y)
    return (gamma * (x @ y.T) + coef0) ** degree


def rbf_kernel(x: object, y: object | None = None, gamma: float = 1.0) -> np.ndarray:
    """The Gaussian (RBF) kernel ``k(x_n, y_m) = exp(-gamma ||x_n - y_m||^2)``."""
    gamma = _positive("gamma", gamma)
    x, y = _pair(x, y)
    sq = (x**2).sum(1)[:, None] + (y**2).sum(1)[None, :] - 2 * x @ y.T
    return np.exp(-gamma * np.maximum(sq, 0.0))


def gram(
    x: object,
    y: object | None = None,
    kernel: str = "linear",
    degree: int = 2,
    gamma: float = 1.0,
    coef0: float = 1.0,
) -> np.ndarray:
    """The kernel matrix of ``kernel`` (one of ``KERNELS``) between the rows of ``x`` and ``y``."""
    if kernel == "linear":
        return linear_kernel(x, y)
    if kernel == "poly":
        return polynomial_kernel(x, y, degree=degree, gamma=gamma, coef0=coef0)
    if kernel == "rbf":
        return rbf_kernel(x, y, gamma=gamma)
    raise ValueError(f"unknown kernel {kernel!r}: choose one of {', '.join(KERNELS)}")


def poly2_feature_map(x: object, gamma: float = 1.0, coef0: float = 1.0) -> np.ndarray:
    """The explicit features of the degree-2 polynomial kernel: ``phi(x) . phi(y) = (gamma x.y + c)^2``.

    ``phi(x)`` holds ``gamma x_i x_j`` for every ordered pair ``(i, j)``, then ``sqrt(2 gamma c) x_i``,
    then ``c``: ``D^2 + D + 1`` numbers for ``D`` input features.
    """
    gamma = _positive("gamma", gamma)
    if isinstance(coef0, bool) or not isinstance(coef0, (int, float)) or coef0 < 0:
        raise ValueError(f"coef0 must be a number >= 0, got {coef0!r}")
    x = as_points("x", x)
    pairs = gamma * (x[:, :, None] * x[:, None, :]).reshape(len(x), -1)
    return np.hstack([pairs, math.sqrt(2 * gamma * coef0) * x, np.full((len(x), 1), float(coef0))])


def rbf_feature_map_1d(x: object, gamma: float = 1.0, n_terms: int = 10) -> np.ndarray:
    """The first ``n_terms`` features of the RBF kernel on 1-D inputs (its feature space is infinite).

    ``exp(-gamma (x - y)^2) = sum_k phi_k(x) phi_k(y)`` with
    ``phi_k(x) = exp(-gamma x^2) sqrt((2 gamma)^k / k!) x^k``, ``k = 0, 1, 2, ...``;
    ``x`` is a 1-D array of ``N`` numbers, the result has shape ``(N, n_terms)``.
    """
    gamma = _positive("gamma", gamma)
    if isinstance(n_terms, bool) or not isinstance(n_terms, int) or n_terms < 1:
        raise ValueError(f"n_terms must be a positive int, got {n_terms!r}")
    if isinstance(x, (torch.Tensor, np.ndarray)) and x.ndim != 1:
        raise ValueError(f"x must be 1-D (one number per point), got shape {tuple(x.shape)}")
    x = as_points("x", x.reshape(-1, 1) if isinstance(x, (torch.Tensor, np.ndarray)) else x)[:, 0]
    k = np.arange(n_terms)
    log_scale = 0.5 * (k * math.log(2 * gamma) - np.array([math.lgamma(i + 1) for i in k]))
    return np.exp(-gamma * x[:, None] ** 2 + log_scale[None, :]) * x[:, None] ** k[None, :]


@dataclass
class DualSVM:
    """A solved SVM: the multipliers ``alpha``, the bias ``b`` and what is needed to predict."""

    alpha: np.ndarray
    b: float
    x: np.ndarray
    t: np.ndarray
    C: float
    kernel: str
    degree: int
    gamma: float
    coef0: float

    @property
    def support(self) -> np.ndarray:
        """Indices of the support vectors: the training points with ``alpha_n > 0``."""
        return np.flatnonzero(self.alpha > 0)

    @property
    def dual_coef(self) -> np.ndarray:
        """``alpha_n t_n`` for the support vectors (what ``SVC.dual_coef_`` stores)."""
        return (self.alpha * self.t)[self.support]

    @property
    def coef(self) -> np.ndarray:
        """The weight vector ``w = sum_n alpha_n t_n x_n`` (linear kernel only)."""
        if self.kernel != "linear":
            raise ValueError(f"w exists as a vector only for the linear kernel, not {self.kernel!r}")
        return (self.alpha * self.t) @ self.x

    def decision_function(self, x: object) -> np.ndarray:
        """``f(x) = sum_n alpha_n t_n k(x_n, x) + b``; its sign is the predicted class."""
        s = self.support
        return kernel_decision_function(
            self.dual_coef, self.x[s], self.b, x, self.kernel, self.degree, self.gamma, self.coef0
        )


def fit_dual(
    x: object,
    t: object,
    C: float = 1.0,
    kernel: str = "linear",
    degree: int = 2,
    gamma: float = 1.0,
    coef0: float = 1.0,
    tol: float = 1e-6,
) -> DualSVM:
    """Solve the soft-margin SVM's dual with SciPy's SLSQP and recover the bias from the KKT conditions.

    Multipliers below ``tol * C`` are set to 0 (those points are not support vectors). The bias
    comes from the free support vectors (``0 < alpha_n < C``), which lie exactly on the margin,
    ``t_n f(x_n) = 1``; without any, from the middle of the interval the KKT conditions allow.
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}: choose one of {', '.join(KERNELS)}")
    C, tol = _positive("C", C), _positive("tol", tol)
    x = as_points("x", x)
    t = as_labels(t, len(x))
    K = gram(x, None, kernel, degree, gamma, coef0)
    Q = (t[:, None] * t[None, :]) * K
    result = minimize(
        lambda a: 0.5 * a @ Q @ a - a.sum(),
        np.zeros(len(x)),
        jac=lambda a: Q @ a - 1.0,
        method="SLSQP",
        bounds=[(0.0, C)] * len(x),
        constraints=[{"type": "eq", "fun": lambda a: a @ t, "jac": lambda a: t}],
        options={"maxiter": 2000, "ftol": 1e-15},
    )
    alpha = np.clip(result.x, 0.0, C)
    alpha[alpha < tol * C] = 0.0
    alpha[alpha > C * (1 - tol)] = C
    g = K @ (alpha * t)
    free = (alpha > 0) & (alpha < C)
    if free.any():
        b = float(np.mean(t[free] - g[free]))
    else:
        lower = np.where(((alpha == 0) & (t > 0)) | ((alpha == C) & (t < 0)), t - g, -np.inf)
        upper = np.where(((alpha == 0) & (t < 0)) | ((alpha == C) & (t > 0)), t - g, np.inf)
        b = float((lower.max() + upper.min()) / 2)
    return DualSVM(alpha, b, x, t, C, kernel, degree, float(gamma), float(coef0))


def kernel_decision_function(
    dual_coef: object,
    support_vectors: object,
    intercept: float,
    x: object,
    kernel: str = "rbf",
    degree: int = 2,
    gamma: float = 1.0,
    coef0: float = 1.0,
) -> np.ndarray:
    """``f(x) = sum_i dual_coef_i k(sv_i, x) + intercept`` for every row of ``x``.

    With ``SVC``'s ``dual_coef_[0]`` (that is ``alpha_i t_i``), ``support_vectors_`` and
    ``intercept_[0]`` this is ``SVC.decision_function``.
    """
    sv = as_points("support_vectors", support_vectors)
    coef = np.asarray(
        dual_coef.detach().cpu() if isinstance(dual_coef, torch.Tensor) else dual_coef, dtype=np.float64
    )
    if coef.shape != (len(sv),):
        raise ValueError(
            f"dual_coef must have one entry per support vector, shape ({len(sv)},), got {coef.shape}"
        )
    if isinstance(intercept, bool) or not isinstance(intercept, (int, float, np.floating)):
        raise TypeError(f"intercept must be a number, got {type(intercept).__name__}")
    return coef @ gram(sv, x, kernel, degree, gamma, coef0) + float(intercept)


def _linear_parts(w: object, b: float, x: object, t: object) -> tuple[np.ndarray, np.ndarray]:
    x = as_points("x", x)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (x.shape[1],):
        raise ValueError(f"w must have shape ({x.shape[1]},), one weight per feature, got {w.shape}")
    if isinstance(b, bool) or not isinstance(b, (int, float, np.floating)):
        raise TypeError(f"b must be a number, got {type(b).__name__}")
    return x @ w + float(b), as_labels(t, len(x))


def slack(w: object, b: float, x: object, t: object) -> np.ndarray:
    """The slack ``xi_n = max(0, 1 - t_n (w . x_n + b))`` of every point (its hinge loss).

    0 on or outside the margin, between 0 and 1 inside it on the right side, above 1 when misclassified.
    """
    f, t = _linear_parts(w, b, x, t)
    return np.maximum(0.0, 1.0 - t * f)


def hinge_objective(w: object, b: float, x: object, t: object, C: float) -> float:
    """The soft-margin primal ``1/2 ||w||^2 + C sum_n xi_n``."""
    C = _positive("C", C)
    return float(0.5 * np.dot(w, w) + C * slack(w, b, x, t).sum())


def margin_width(w: object) -> float:
    """The distance ``2 / ||w||`` between the margin lines ``w . x + b = +1`` and ``= -1``."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 1 or not np.isfinite(w).all():
        raise ValueError(f"w must be a finite 1-D vector, got shape {w.shape}")
    norm = float(np.linalg.norm(w))
    if norm == 0:
        raise ValueError("w must not be the zero vector: the margin would be infinite")
    return 2.0 / norm
