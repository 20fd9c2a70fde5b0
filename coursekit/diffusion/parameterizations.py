r"""Four ways to say the same thing: score, noise, denoiser and velocity (Chapter 6).

Noised data $x_t = \alpha_t\,x_{\text{data}} + \sigma_t\,\varepsilon$ with $\varepsilon \sim \mathcal N(0, I)$
can be described by any one of four functions of $(x, t)$, and each determines the others:

* the **score** $s(x, t) = \nabla_x \log p_t(x) = -\mathbb E[\varepsilon \mid x_t = x]/\sigma_t$;
* the **noise prediction** $\hat\varepsilon(x, t) = \mathbb E[\varepsilon \mid x_t = x] = -\sigma_t\, s(x, t)$
  (Ho et al. 2020);
* the **denoiser** (data prediction) $D(x, t) = \mathbb E[x_{\text{data}} \mid x_t = x]
  = \big(x + \sigma_t^2\, s(x, t)\big)/\alpha_t$: Tweedie's formula, "denoising = score";
* the **velocity** of the probability-flow ODE,
  $v(x, t) = \dot\alpha_t\, D(x, t) + \dot\sigma_t\, \hat\varepsilon(x, t)
  = \frac{\dot\alpha_t}{\alpha_t}\,x
  + \Big(\frac{\dot\alpha_t}{\alpha_t}\sigma_t^2 - \sigma_t\dot\sigma_t\Big)\, s(x, t)$,
  which is also the marginal velocity of flow matching with the same path.

The velocity formula is the probability-flow drift $f - \tfrac12 g^2 s$ of the SDE whose marginals
are $(\alpha_t, \sigma_t)$: $f(x, t) = \tfrac{\dot\alpha_t}{\alpha_t}x$ and
$g(t)^2 = 2\sigma_t\dot\sigma_t - 2\tfrac{\dot\alpha_t}{\alpha_t}\sigma_t^2$.

Every function takes ``alpha``, ``sigma`` (and ``d_alpha``, ``d_sigma``) as numbers, 0-d tensors or
tensors of shape ``(N,)``, e.g. from ``schedule(t)`` (:class:`~coursekit.sde.schedules.ScheduleValues`).
"""

from __future__ import annotations

import torch  # noqa: F401  (used by the doctests)
from torch import Tensor

from coursekit._shapes import broadcast_time, check_points

__all__ = [
    "data_from_noise",
    "denoiser_from_score",
    "noise_from_data",
    "noise_from_score",
    "score_from_denoiser",
    "score_from_noise",
    "score_from_velocity",
    "velocity_from_score",
]

Coefficient = float | Tensor


def _same_shape(x: Tensor, other: Tensor, name: str) -> None:
    check_points(x)
    if not isinstance(other, Tensor) or other.shape != x.shape:
        shape = tuple(other.shape) if isinstance(other, Tensor) else type(other).__name__
        raise ValueError(f"{name} must have the shape of x {tuple(x.shape)}, got {shape}")


def score_from_noise(noise: Tensor, sigma: Coefficient) -> Tensor:
    r"""Score from the noise prediction: $s = -\hat\varepsilon/\sigma_t$ (Chapter 6).

    Args:
        noise: Predicted noise $\hat\varepsilon$, shape ``(N, d)``.
        sigma: $\sigma_t > 0$, scalar or ``(N,)``.

    Returns:
        The score, shape ``(N, d)``.

    Example:
        >>> score_from_noise(torch.ones(2, 2), 0.5)[0]
        tensor([-2., -2.])
    """
    check_points(noise, "noise")
    return -noise / broadcast_time(sigma, noise)


def noise_from_score(score: Tensor, sigma: Coefficient) -> Tensor:
    r"""Noise prediction from the score: $\hat\varepsilon = -\sigma_t\, s$ (Chapter 6).

    Args:
        score: The score $s(x, t)$, shape ``(N, d)``.
        sigma: $\sigma_t$, scalar or ``(N,)``.

    Returns:
        The predicted noise, shape ``(N, d)``.
    """
    check_points(score, "score")
    return -broadcast_time(sigma, score) * score


def denoiser_from_score(x: Tensor, score: Tensor, alpha: Coefficient, sigma: Coefficient) -> Tensor:
    r"""Tweedie's formula: the denoiser $D(x, t) = \mathbb E[x_{\text{data}} \mid x_t = x]$ from the score.

    Chapter 6, exercise.

    $$D(x, t) = \frac{x + \sigma_t^2\, \nabla_x \log p_t(x)}{\alpha_t}.$$

    Args:
        x: Noised points $x_t$, shape ``(N, d)``.
        score: The score $\nabla \log p_t(x)$, shape ``(N, d)``.
        alpha: $\alpha_t > 0$, scalar or ``(N,)``.
        sigma: $\sigma_t$, scalar or ``(N,)``.

    Returns:
        The denoised points, shape ``(N, d)``.

    Example:
        >>> denoiser_from_score(torch.ones(1, 2), -torch.ones(1, 2), 0.5, 0.5)
        tensor([[1.5000, 1.5000]])
    """
    _same_shape(x, score, "score")
    a, s = broadcast_time(alpha, x), broadcast_time(sigma, x)
    return (x + s**2 * score) / a


def score_from_denoiser(x: Tensor, denoised: Tensor, alpha: Coefficient, sigma: Coefficient) -> Tensor:
    r"""Score from the denoiser, inverting Tweedie: $s = (\alpha_t D - x)/\sigma_t^2$ (Chapter 6).

    Args:
        x: Noised points, shape ``(N, d)``.
        denoised: $D(x, t)$, shape ``(N, d)``.
        alpha: $\alpha_t$, scalar or ``(N,)``.
        sigma: $\sigma_t > 0$, scalar or ``(N,)``.

    Returns:
        The score, shape ``(N, d)``.
    """
    _same_shape(x, denoised, "denoised")
    a, s = broadcast_time(alpha, x), broadcast_time(sigma, x)
    return (a * denoised - x) / s**2


def data_from_noise(x: Tensor, noise: Tensor, alpha: Coefficient, sigma: Coefficient) -> Tensor:
    r"""Data prediction from the noise prediction: $D = (x - \sigma_t\hat\varepsilon)/\alpha_t$ (Chapter 6).

    Args:
        x: Noised points, shape ``(N, d)``.
        noise: $\hat\varepsilon(x, t)$, shape ``(N, d)``.
        alpha: $\alpha_t > 0$, scalar or ``(N,)``.
        sigma: $\sigma_t$, scalar or ``(N,)``.

    Returns:
        The predicted data, shape ``(N, d)``.
    """
    _same_shape(x, noise, "noise")
    return (x - broadcast_time(sigma, x) * noise) / broadcast_time(alpha, x)


def noise_from_data(x: Tensor, denoised: Tensor, alpha: Coefficient, sigma: Coefficient) -> Tensor:
    r"""Noise prediction from the data prediction: $\hat\varepsilon = (x - \alpha_t D)/\sigma_t$ (Chapter 6).

    Args:
        x: Noised points, shape ``(N, d)``.
        denoised: $D(x, t)$, shape ``(N, d)``.
        alpha: $\alpha_t$, scalar or ``(N,)``.
        sigma: $\sigma_t > 0$, scalar or ``(N,)``.

    Returns:
        The predicted noise, shape ``(N, d)``.
    """
    _same_shape(x, denoised, "denoised")
    return (x - broadcast_time(alpha, x) * denoised) / broadcast_time(sigma, x)


def velocity_from_score(
    x: Tensor, score: Tensor, alpha: Coefficient, sigma: Coefficient, d_alpha: Coefficient, d_sigma: Coefficient
) -> Tensor:
    r"""Probability-flow velocity from the score (Chapter 6).

    $$v(x, t) = \dot\alpha_t\, D(x, t) + \dot\sigma_t\, \hat\varepsilon(x, t)
      = \frac{\dot\alpha_t}{\alpha_t}\, x
        + \Big(\frac{\dot\alpha_t}{\alpha_t}\,\sigma_t^2 - \sigma_t\dot\sigma_t\Big)\, s(x, t).$$

    For a VP SDE this equals :func:`coursekit.density.reverse_time.probability_flow_drift`; for the flow
    matching path $\alpha_t = 1 - t$, $\sigma_t = t$ it is the marginal velocity.

    Args:
        x: Points, shape ``(N, d)``.
        score: The score at ``x``, shape ``(N, d)``.
        alpha: $\alpha_t > 0$, scalar or ``(N,)``.
        sigma: $\sigma_t$, scalar or ``(N,)``.
        d_alpha: $\dot\alpha_t$, scalar or ``(N,)``.
        d_sigma: $\dot\sigma_t$, scalar or ``(N,)``.

    Returns:
        The velocity, shape ``(N, d)``.
    """
    _same_shape(x, score, "score")
    a, s = broadcast_time(alpha, x), broadcast_time(sigma, x)
    da, ds = broadcast_time(d_alpha, x), broadcast_time(d_sigma, x)
    return da / a * x + (da / a * s**2 - s * ds) * score


def score_from_velocity(
    x: Tensor, velocity: Tensor, alpha: Coefficient, sigma: Coefficient, d_alpha: Coefficient, d_sigma: Coefficient
) -> Tensor:
    r"""Score from the probability-flow velocity, inverting :func:`velocity_from_score` (Chapter 6).

    $$s(x, t) = \frac{v(x, t) - \tfrac{\dot\alpha_t}{\alpha_t}\, x}
    {\tfrac{\dot\alpha_t}{\alpha_t}\,\sigma_t^2 - \sigma_t\dot\sigma_t},$$
    defined for $0 < t$ (the denominator is $-\tfrac12 g(t)^2 < 0$).

    Args:
        x: Points, shape ``(N, d)``.
        velocity: $v(x, t)$, shape ``(N, d)``.
        alpha: $\alpha_t > 0$, scalar or ``(N,)``.
        sigma: $\sigma_t > 0$, scalar or ``(N,)``.
        d_alpha: $\dot\alpha_t$, scalar or ``(N,)``.
        d_sigma: $\dot\sigma_t$, scalar or ``(N,)``.

    Returns:
        The score, shape ``(N, d)``.
    """
    _same_shape(x, velocity, "velocity")
    a, s = broadcast_time(alpha, x), broadcast_time(sigma, x)
    da, ds = broadcast_time(d_alpha, x), broadcast_time(d_sigma, x)
    return (velocity - da / a * x) / (da / a * s**2 - s * ds)
