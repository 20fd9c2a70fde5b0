r"""The exact score of a noised point cloud (Chapters 2, 5, 6).

Noising the empirical distribution of points $y_1, \dots, y_M$ with $x_t = \alpha_t y + \sigma_t\varepsilon$
gives the Gaussian mixture $p_t(x) = \frac1M\sum_j \mathcal N(x;\ \alpha_t y_j,\ \sigma_t^2 I)$, whose
score is a softmax-weighted pull towards the scaled points:
$$\nabla\log p_t(x) = \sum_j w_j(x)\,\frac{\alpha_t y_j - x}{\sigma_t^2},
  \qquad w_j(x) = \operatorname{softmax}_j\Big(-\frac{\|x - \alpha_t y_j\|^2}{2\sigma_t^2}\Big).$$
Driving the reverse-time SDE or the probability-flow ODE with it sends noise back onto the cloud.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from coursekit._shapes import as_time, check_points
from coursekit.sde import SDE

__all__ = ["noised_point_cloud_score", "point_cloud_log_prob", "point_cloud_score"]


def _coefficients(x: Tensor, alpha: float | Tensor, sigma: float | Tensor) -> tuple[Tensor, Tensor]:
    alpha, sigma = as_time(alpha, x), as_time(sigma, x)
    if bool((sigma <= 0).any()):
        raise ValueError("sigma must be positive: the score of the un-noised cloud does not exist (use t > 0)")
    shape = (-1, 1) if alpha.ndim else (1, 1)
    return alpha.reshape(shape), sigma.reshape(-1, 1) if sigma.ndim else sigma.reshape(1, 1)


def _sq_distances(points: Tensor, x: Tensor, alpha: Tensor) -> Tensor:
    """||x_n - alpha_n y_j||^2, shape (N, M)."""
    # (N, 1, d) - (N or 1, 1, 1) * (1, M, d) -> (N, M, d) would use N*M*d memory; expand the square instead
    x_sq = (x**2).sum(1, keepdim=True)  # (N, 1)
    y_sq = (points**2).sum(1)[None, :]  # (1, M)
    return (x_sq - 2 * alpha * (x @ points.T) + alpha**2 * y_sq).clamp_min(0.0)  # (N, M)


def point_cloud_score(points: Tensor, x: Tensor, alpha: float | Tensor, sigma: float | Tensor) -> Tensor:
    r"""Score of $\frac1M\sum_j\mathcal N(\alpha y_j, \sigma^2 I)$ at ``x`` (Chapter 2, exercise).

    Args:
        points: The cloud $y_j$, shape ``(M, d)``.
        x: Where to evaluate, shape ``(N, d)``.
        alpha: $\alpha_t$, a number or shape ``(N,)``.
        sigma: $\sigma_t > 0$, a number or shape ``(N,)``.

    Returns:
        The score, shape ``(N, d)``.

    Example:
        >>> point_cloud_score(torch.zeros(1, 2), torch.ones(3, 2), 1.0, 0.5)[0]
        tensor([-4., -4.])
    """
    check_points(points, "points")
    check_points(x, "x", dim=points.shape[1])
    alpha, sigma = _coefficients(x, alpha, sigma)
    weights = torch.softmax(-_sq_distances(points, x, alpha) / (2 * sigma**2), dim=1)  # (N, M)
    return (alpha * (weights @ points) - x) / sigma**2  # (N, d)


def point_cloud_log_prob(points: Tensor, x: Tensor, alpha: float | Tensor, sigma: float | Tensor) -> Tensor:
    r"""$\log \frac1M\sum_j\mathcal N(x;\ \alpha y_j, \sigma^2 I)$, shape ``(N,)``; arguments as :func:`point_cloud_score`."""
    check_points(points, "points")
    check_points(x, "x", dim=points.shape[1])
    alpha, sigma = _coefficients(x, alpha, sigma)
    d, M = x.shape[1], points.shape[0]
    logits = -_sq_distances(points, x, alpha) / (2 * sigma**2)  # (N, M)
    return torch.logsumexp(logits, dim=1) - math.log(M) - d * torch.log(sigma[:, 0] * math.sqrt(2 * math.pi))


def noised_point_cloud_score(points: Tensor, sde: SDE) -> Callable[[Tensor, Tensor], Tensor]:
    r"""The exact score $\nabla\log p_t$ of the cloud noised by ``sde``, as ``score(x, t)``.

    Args:
        points: The cloud, shape ``(M, d)``.
        sde: A forward SDE with closed-form marginal coefficients (VP, VE, OU, Brownian motion).

    Returns:
        ``score(x, t) -> (N, d)``, for ``t`` scalar or ``(N,)`` with $t > 0$.
    """
    check_points(points, "points")

    def score(x: Tensor, t: Tensor) -> Tensor:
        alpha, sigma = sde.marginal_coefficients(as_time(t, x))
        return point_cloud_score(points.to(x), x, alpha, sigma)

    return score
