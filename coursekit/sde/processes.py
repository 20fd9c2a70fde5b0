r"""Itô SDEs $dx = f(x, t)\,dt + g(t)\,dW_t$ with closed-form marginals (Chapters 1, 2, 6).

Each SDE gives its drift ``drift(x, t)`` $= f(x,t)$ and diffusion ``diffusion(t)`` $= g(t)$.
The solver uses ``diffusion_term(x, t)`` $= G(x, t)$, the factor in front of $dW$, which equals
$g(t)$ for additive noise (``noise_type = "additive"``) and $g(t)\,x$ for the multiplicative
noise of geometric Brownian motion (``noise_type = "multiplicative"``; the reverse-time formulas
of Chapters 2 and 6 need additive noise). Started at a point $x_{\text{data}}$ at $t = 0$, the
linear SDEs here have Gaussian marginals
$$x_t \mid x_{\text{data}} \sim \mathcal N\big(\alpha_t\,x_{\text{data}},\ \sigma_t^2 I\big),$$
given by :meth:`SDE.marginal_coefficients`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from coursekit._shapes import as_time, broadcast_time, check_points, check_positive, time_tensor
from coursekit.rng import randn_like
from coursekit.sde.schedules import GeometricVESchedule, LinearBetaSchedule, Schedule

__all__ = [
    "SDE",
    "BrownianMotion",
    "DriftDiffusionSDE",
    "GeometricBrownianMotion",
    "OrnsteinUhlenbeck",
    "VESDE",
    "VPSDE",
]


class SDE(ABC):
    r"""An Itô SDE $dx = f(x,t)\,dt + G(x,t)\,dW_t$ on $\mathbb R^d$, time running $0 \to 1$."""

    noise_type = "additive"  # G(x, t) = g(t); "multiplicative": G(x, t) = g(t) x

    @abstractmethod
    def drift(self, x: Tensor, t: float | Tensor) -> Tensor:
        """The drift $f(x, t)$: ``x`` of shape ``(N, d)``, ``t`` scalar or ``(N,)``; returns ``(N, d)``."""

    @abstractmethod
    def diffusion(self, t: float | Tensor) -> Tensor:
        r"""The diffusion coefficient $g(t)$, of the shape of ``t`` (multiplicative noise: $G = g(t)\,x$)."""

    def diffusion_term(self, x: Tensor, t: float | Tensor) -> Tensor:
        r"""The factor $G(x, t)$ in front of $dW_t$, broadcastable to ``x`` of shape ``(N, d)``.

        Equals $g(t)$ (reshaped to ``(N, 1)`` or ``(1, 1)``) for additive noise.
        """
        return broadcast_time(self.diffusion(as_time(t, x)), x)

    def marginal_coefficients(self, t: float | Tensor) -> tuple[Tensor, Tensor]:
        r"""$(\alpha_t, \sigma_t)$ with $x_t \mid x_{\text{data}} \sim \mathcal N(\alpha_t x_{\text{data}}, \sigma_t^2 I)$."""  # noqa: E501
        raise NotImplementedError(f"{type(self).__name__} has no Gaussian closed-form marginal")

    def marginal(self, x_data: Tensor, t: float | Tensor) -> tuple[Tensor, Tensor]:
        r"""Mean and standard deviation of $x_t$ given $x_0 = x_{\text{data}}$.

        Args:
            x_data: Starting points, shape ``(N, d)``.
            t: Time, scalar or ``(N,)``.

        Returns:
            ``(mean, std)``: mean of shape ``(N, d)``, std broadcastable to it.
        """
        check_points(x_data, "x_data")
        alpha, sigma = self.marginal_coefficients(as_time(t, x_data))
        return broadcast_time(alpha, x_data) * x_data, broadcast_time(sigma, x_data)

    def sample_marginal(self, x_data: Tensor, t: float | Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        r"""Sample $x_t = \alpha_t x_{\text{data}} + \sigma_t \varepsilon$ exactly, without a solver.

        Args:
            x_data: Starting points, shape ``(N, d)``.
            t: Time, scalar or ``(N,)``.
            generator: Source of randomness.

        Returns:
            Samples of shape ``(N, d)``.
        """
        mean, std = self.marginal(x_data, t)
        return mean + std * randn_like(x_data, generator=generator)


@dataclass(frozen=True)
class BrownianMotion(SDE):
    r"""Scaled Brownian motion $dx = \sigma\,dW_t$: $\alpha_t = 1$, $\sigma_t = \sigma\sqrt t$ (Chapter 1).

    Args:
        sigma: Noise scale $\sigma > 0$ (default 1).
    """

    sigma: float = 1.0

    def __post_init__(self) -> None:
        check_positive(self.sigma, "sigma")

    def drift(self, x: Tensor, t: float | Tensor) -> Tensor:
        """Zero drift, shape ``(N, d)``."""
        return torch.zeros_like(check_points(x))

    def diffusion(self, t: float | Tensor) -> Tensor:
        r"""Constant $g = \sigma$."""
        return torch.full_like(time_tensor(t), self.sigma)

    def marginal_coefficients(self, t: float | Tensor) -> tuple[Tensor, Tensor]:
        r"""$\alpha_t = 1$, $\sigma_t = \sigma\sqrt t$."""
        t = time_tensor(t)
        return torch.ones_like(t), self.sigma * t.sqrt()


@dataclass(frozen=True)
class OrnsteinUhlenbeck(SDE):
    r"""Ornstein-Uhlenbeck process $dx = -\theta x\,dt + \sigma\,dW_t$ (Chapter 1).

    $$\alpha_t = e^{-\theta t}, \qquad \sigma_t^2 = \frac{\sigma^2}{2\theta}\big(1 - e^{-2\theta t}\big),$$
    with stationary law $\mathcal N(0, \tfrac{\sigma^2}{2\theta} I)$. The defaults
    $\theta = 1$, $\sigma = \sqrt2$ make the stationary law standard normal.

    Args:
        theta: Mean-reversion rate $\theta > 0$.
        sigma: Noise scale $\sigma > 0$.
    """

    theta: float = 1.0
    sigma: float = math.sqrt(2.0)

    def __post_init__(self) -> None:
        check_positive(self.theta, "theta")
        check_positive(self.sigma, "sigma")

    def drift(self, x: Tensor, t: float | Tensor) -> Tensor:
        r"""$f(x, t) = -\theta x$, shape ``(N, d)``."""
        return -self.theta * check_points(x)

    def diffusion(self, t: float | Tensor) -> Tensor:
        r"""Constant $g = \sigma$."""
        return torch.full_like(time_tensor(t), self.sigma)

    def marginal_coefficients(self, t: float | Tensor) -> tuple[Tensor, Tensor]:
        r"""$\alpha_t = e^{-\theta t}$, $\sigma_t = \sigma\sqrt{(1 - e^{-2\theta t})/(2\theta)}$."""
        t = time_tensor(t)
        alpha = torch.exp(-self.theta * t)
        sigma = self.sigma * torch.sqrt(-torch.expm1(-2 * self.theta * t) / (2 * self.theta))
        return alpha, sigma

    @property
    def stationary_std(self) -> float:
        r"""Standard deviation $\sigma/\sqrt{2\theta}$ of the stationary law."""
        return self.sigma / math.sqrt(2 * self.theta)


@dataclass(frozen=True)
class VPSDE(SDE):
    r"""Variance-preserving SDE $dx = -\tfrac12\beta(t)\,x\,dt + \sqrt{\beta(t)}\,dW_t$ (Chapters 1, 6).

    The continuous-time limit of the DDPM noising chain
    $x_k = \sqrt{1-\beta_k}\,x_{k-1} + \sqrt{\beta_k}\,\varepsilon_k$ with $\beta_k = \beta(t_k)\Delta t$.
    Its marginal coefficients are the schedule's $(\alpha_t, \sigma_t)$, $\sigma_t^2 = 1 - \alpha_t^2$.

    Args:
        schedule: A VP schedule with a ``beta(t)`` method (default: linear, 0.1 to 20).
    """

    schedule: Schedule = field(default_factory=LinearBetaSchedule)

    def __post_init__(self) -> None:
        if not hasattr(self.schedule, "beta"):
            raise TypeError(
                f"VPSDE needs a variance-preserving schedule with a beta(t) method, got {type(self.schedule).__name__}"
            )

    def beta(self, t: float | Tensor) -> Tensor:
        r"""The rate $\beta(t)$."""
        return self.schedule.beta(t)  # type: ignore[attr-defined]  # __post_init__ checks that it has beta(t)

    def drift(self, x: Tensor, t: float | Tensor) -> Tensor:
        r"""$f(x, t) = -\tfrac12\beta(t)\,x$, shape ``(N, d)``."""
        check_points(x)
        return -0.5 * broadcast_time(self.beta(as_time(t, x)), x) * x

    def diffusion(self, t: float | Tensor) -> Tensor:
        r"""$g(t) = \sqrt{\beta(t)}$."""
        return self.beta(t).sqrt()

    def marginal_coefficients(self, t: float | Tensor) -> tuple[Tensor, Tensor]:
        r"""$(\alpha_t, \sigma_t)$ of the schedule."""
        return self.schedule.alpha_sigma(t)


@dataclass(frozen=True)
class VESDE(SDE):
    r"""Variance-exploding SDE $dx = \sqrt{\tfrac{d}{dt}\bar\sigma^2(t)}\,dW_t$ (Chapters 1, 6).

    With $\bar\sigma(t) = \sigma_{\min}(\sigma_{\max}/\sigma_{\min})^t$,
    $g(t) = \bar\sigma(t)\sqrt{2\log(\sigma_{\max}/\sigma_{\min})}$, $\alpha_t = 1$ and
    $\sigma_t^2 = \bar\sigma(t)^2 - \sigma_{\min}^2$.

    Args:
        sigma_min: $\bar\sigma(0)$ (default 0.01).
        sigma_max: $\bar\sigma(1)$ (default 10).
    """

    sigma_min: float = 0.01
    sigma_max: float = 10.0

    def __post_init__(self) -> None:
        GeometricVESchedule(self.sigma_min, self.sigma_max)  # validates the parameters

    @property
    def schedule(self) -> GeometricVESchedule:
        """The matching :class:`~coursekit.sde.schedules.GeometricVESchedule`."""
        return GeometricVESchedule(self.sigma_min, self.sigma_max)

    def drift(self, x: Tensor, t: float | Tensor) -> Tensor:
        """Zero drift, shape ``(N, d)``."""
        return torch.zeros_like(check_points(x))

    def diffusion(self, t: float | Tensor) -> Tensor:
        r"""$g(t) = \bar\sigma(t)\sqrt{2\log(\sigma_{\max}/\sigma_{\min})}$."""
        log_ratio = math.log(self.sigma_max / self.sigma_min)
        return self.schedule.sigma_bar(t) * math.sqrt(2 * log_ratio)

    def marginal_coefficients(self, t: float | Tensor) -> tuple[Tensor, Tensor]:
        r"""$\alpha_t = 1$, $\sigma_t = \sqrt{\bar\sigma(t)^2 - \sigma_{\min}^2}$."""
        return self.schedule.alpha_sigma(t)


@dataclass(frozen=True)
class DriftDiffusionSDE(SDE):
    r"""An SDE $dx = f(x, t)\,dt + g(t)\,dW_t$ from a drift function and a diffusion coefficient (Chapter 2).

    Args:
        drift_fn: $f(x, t)$, ``(N, d), t -> (N, d)``.
        g: $g(t)$, a number or a callable of ``t``.
    """

    drift_fn: Callable[[Tensor, Tensor], Tensor]
    g: float | Callable[[Tensor], Tensor] = 1.0

    def drift(self, x: Tensor, t: float | Tensor) -> Tensor:
        """$f(x, t)$, shape ``(N, d)``."""
        return self.drift_fn(check_points(x), as_time(t, x))

    def diffusion(self, t: float | Tensor) -> Tensor:
        """$g(t)$, of the shape of ``t``."""
        t = time_tensor(t)
        return self.g(t) if callable(self.g) else torch.full_like(t, float(self.g))


@dataclass(frozen=True)
class GeometricBrownianMotion(SDE):
    r"""Geometric Brownian motion $dx = \mu x\,dt + \sigma x\,dW_t$ (multiplicative noise), Chapter 1.

    Its pathwise solution, given the same Brownian path, is
    $x_t = x_0 \exp\big((\mu - \tfrac12\sigma^2)t + \sigma W_t\big)$ (:meth:`solution`): the test of strong order.

    Args:
        mu: Growth rate $\mu$.
        sigma: Volatility $\sigma > 0$.
    """

    noise_type = "multiplicative"
    mu: float = 1.0
    sigma: float = 1.0

    def __post_init__(self) -> None:
        check_positive(self.sigma, "sigma")

    def drift(self, x: Tensor, t: float | Tensor) -> Tensor:
        r"""$f(x, t) = \mu x$."""
        return self.mu * check_points(x)

    def diffusion(self, t: float | Tensor) -> Tensor:
        r"""The volatility $g(t) = \sigma$, of the shape of ``t``; the noise factor is $G(x, t) = g(t)\,x$."""
        return torch.full_like(time_tensor(t), self.sigma)

    def diffusion_term(self, x: Tensor, t: float | Tensor) -> Tensor:
        r"""$G(x, t) = \sigma x$, shape ``(N, d)``."""
        return self.sigma * check_points(x)

    def solution(self, x0: Tensor, W: Tensor, t: Tensor) -> Tensor:
        r"""Exact solution $x_t = x_0\exp((\mu - \sigma^2/2)t + \sigma W_t)$ along a Brownian path.

        Args:
            x0: Initial points, shape ``(N, d)``.
            W: Brownian path, shape ``(T+1, N, d)``, with ``W[0] = 0``.
            t: Times, shape ``(T+1,)``.

        Returns:
            The solution on the grid, shape ``(T+1, N, d)``.
        """
        t = t.reshape(-1, 1, 1)  # (T+1,) -> (T+1, 1, 1)
        return x0 * torch.exp((self.mu - 0.5 * self.sigma**2) * t + self.sigma * W)
