r"""The exact score of a noised point cloud (Chapters 2, 5, 6).

Noising the empirical distribution of points $y_1, \dots, y_M$ with $x_t = \alpha_t y + \sigma_t\varepsilon$
gives the Gaussian mixture $p_t(x) = \frac1M\sum_j \mathcal N(x;\ \alpha_t y_j,\ \sigma_t^2 I)$, whose
score is a softmax-weighted pull towards the scaled points:
$$\nabla\log p_t(x) = \sum_j w_j(x)\,\frac{\alpha_t y_j - x}{\sigma_t^2},
  \qquad w_j(x) = \operatorname{softmax}_j\Big(-\frac{\|x - \alpha_t y_j\|^2}{2\sigma_t^2}\Big).$$
The weights $w_j$ are the posterior weights of :func:`coursekit.density.noised.mixture_posterior` (the
cloud is the mixture with point components), from differences $x - \alpha_t y_j$. Driving the
reverse-time SDE or the probability-flow ODE with the score sends noise back onto the cloud.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from coursekit._shapes import as_time, check_points
from coursekit.density.noised import MixturePosterior, mixture_posterior
from coursekit.sde.processes import SDE

__all__ = ["noised_point_cloud_score", "point_cloud_log_prob", "point_cloud_posterior", "point_cloud_score"]


def point_cloud_posterior(
    points: Tensor, x: Tensor, alpha: float | Tensor, sigma: float | Tensor, *, score: bool = True
) -> MixturePosterior:
    r"""Posterior weights, log-density and score of $\frac1M\sum_j\mathcal N(\alpha y_j, \sigma^2 I)$ (Chapters 2, 5).

    $$w_j(x) = P(y = y_j \mid x_t = x) = \operatorname{softmax}_j\Big(-\frac{\|x - \alpha y_j\|^2}{2\sigma^2}\Big).$$

    Args:
        points: The cloud $y_j$, shape ``(M, d)`` (cast to ``x``'s dtype and device).
        x: Where to evaluate, shape ``(N, d)``.
        alpha: $\alpha_t$, a number or shape ``(N,)``.
        sigma: $\sigma_t > 0$, a number or shape ``(N,)``.
        score: Also compute the score.

    Returns:
        :class:`coursekit.density.noised.MixturePosterior` with ``weights`` of shape ``(N, M)``.
    """
    check_points(points, "points")
    check_points(x, "x", dim=points.shape[1])
    alpha, sigma = as_time(alpha, x), as_time(sigma, x)
    if bool((sigma <= 0).any()):
        raise ValueError("sigma must be positive: the score of the un-noised cloud does not exist (use t > 0)")
    return mixture_posterior(x, points.to(x), alpha, sigma, score=score)


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
        >>> import torch
        >>> point_cloud_score(torch.zeros(1, 2), torch.ones(3, 2), 1.0, 0.5)[0]
        tensor([-4., -4.])
    """
    score = point_cloud_posterior(points, x, alpha, sigma).score
    assert score is not None  # asked for
    return score


def point_cloud_log_prob(points: Tensor, x: Tensor, alpha: float | Tensor, sigma: float | Tensor) -> Tensor:
    r"""Log-density $\log \frac1M\sum_j\mathcal N(x;\ \alpha y_j, \sigma^2 I)$, shape ``(N,)`` (Chapter 2).

    Arguments as :func:`point_cloud_score`.
    """
    return point_cloud_posterior(points, x, alpha, sigma, score=False).log_prob


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
