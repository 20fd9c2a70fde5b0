r"""The exact marginal velocity of flow matching for a point cloud, from its score (Chapter 5).

On the straight path $x_t = (1 - t)\,x_{\text{data}} + t\,x_{\text{noise}}$, that is $\alpha_t = 1 - t$ and
$\sigma_t = t$ with $\dot\alpha_t = -1$, $\dot\sigma_t = 1$, the marginal velocity is
$$u_t(x) = \mathbb E[x_{\text{noise}} - x_{\text{data}} \mid x_t = x]
  = \dot\alpha_t\,\mathbb E[x_{\text{data}} \mid x_t = x] + \dot\sigma_t\,\mathbb E[x_{\text{noise}} \mid x_t = x],$$
and Tweedie's formula $\mathbb E[x_{\text{noise}} \mid x_t = x] = -\sigma_t\nabla\log p_t(x)$ turns it into the
velocity-score identity of the straight path
$$u_t(x) = -\,\mathbb E[x_{\text{data}} \mid x_t = x] - t\,\nabla\log p_t(x).$$
Eliminating the posterior mean with $\alpha_t\,\mathbb E[x_{\text{data}} \mid x] = x + \sigma_t^2\nabla\log p_t(x)$
gives the score-only form $u_t(x) = -\big(x + t\,\nabla\log p_t(x)\big)/(1 - t)$: exact for $t < 1$, but
$0/0$ at $t = 1$, where $p_1 = \mathcal N(0, I)$ and $\nabla\log p_1(x) = -x$ keep no trace of the data.
The form with the posterior mean is finite on all of $(0, 1]$, so the library uses it. For a cloud
$y_1, \dots, y_M$ both terms come from the posterior weights $w_j$ of the noised cloud
(:func:`coursekit.density.point_cloud.point_cloud_posterior`): $\mathbb E[x_{\text{data}} \mid x] = \sum_j w_j y_j$.
"""

from __future__ import annotations

from torch import Tensor

from coursekit._shapes import as_time, broadcast_time, check_points
from coursekit.density.point_cloud import point_cloud_posterior

__all__ = ["ideal_velocity"]


def ideal_velocity(points: Tensor, x: Tensor, t: float | Tensor) -> Tensor:
    r"""Exact marginal velocity of the linear path from a point cloud to $\mathcal N(0, I)$ (Chapter 5, exercise).

    With $x_{\text{data}}$ uniform on the cloud $y_1, \dots, y_M$, given $x_{\text{data}} = y_j$ the point
    $x_t$ is $\mathcal N((1-t)\,y_j,\ t^2 I)$, so $p_t = \frac1M\sum_j \mathcal N((1-t)\,y_j, t^2 I)$ is the
    noised cloud with $\alpha_t = 1 - t$, $\sigma_t = t$, and the velocity-score identity of the straight
    path (module docstring) gives
    $$u_t(x) = -\sum_j w_j(x)\,y_j - t\,\nabla\log p_t(x) = \sum_j w_j(x)\,\frac{x - y_j}{t},
      \qquad w_j(x) = \operatorname{softmax}_j\Big(-\frac{\|x - (1-t)\,y_j\|^2}{2t^2}\Big).$$
    The weights come from ``torch.softmax`` on exact squared differences (no expanded square, whose
    cancellation ruins small $t$), so they neither underflow nor lose accuracy as $t \to 0$; at
    $t = 1$ they are uniform and $u_1(x) = x - \bar y$. The velocity is undefined at $t = 0$.

    Args:
        points: The cloud $y_j$, shape ``(M, d)``.
        x: Where to evaluate, shape ``(N, d)``.
        t: Times in $(0, 1]$, a number or shape ``(N,)``.

    Returns:
        $u_t(x)$, shape ``(N, d)``.

    Example:
        >>> import torch
        >>> ideal_velocity(torch.zeros(1, 2), torch.ones(1, 2), 0.5)
        tensor([[2., 2.]])
    """
    check_points(points, "points")
    check_points(x, "x", dim=points.shape[1])
    t_column = broadcast_time(t, x)  # validated; () or (N,) -> (1, 1) or (N, 1)
    if bool((t_column <= 0).any()):
        raise ValueError("t must be positive: the ideal velocity is undefined at t = 0 (stop the solve at t_end > 0)")
    t = as_time(t, x)  # () or (N,)
    posterior = point_cloud_posterior(points, x, 1 - t, t)  # alpha_t = 1 - t, sigma_t = t
    assert posterior.score is not None  # asked for
    return -t_column * posterior.score - posterior.weights @ points.to(x)  # (N, d)
