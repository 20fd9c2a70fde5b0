r"""Noise schedules $x_t = \alpha_t\,x_{\text{data}} + \sigma_t\,\varepsilon$ (Chapters 1, 6).

A schedule gives the signal coefficient $\alpha_t$, the noise level $\sigma_t$ and their time
derivatives. Time runs from data ($t = 0$, $\alpha_0 = 1$, $\sigma_0 = 0$) to noise ($t = 1$).

* :class:`LinearBetaSchedule` is the variance-preserving (VP) schedule of DDPM / score-SDE with
  $\beta(t) = \beta_{\min} + t(\beta_{\max} - \beta_{\min})$, $\beta_{\min} = 0.1$,
  $\beta_{\max} = 20$ (Ho et al. 2020; Song et al. 2021);
* :class:`CosineSchedule` is the VP schedule of Nichol & Dhariwal (2021);
* :class:`GeometricVESchedule` is the variance-exploding (VE) schedule of Song et al. (2021).

For a VP schedule $\sigma_t^2 = 1 - \alpha_t^2$ and the SDE rate is
$\beta(t) = -2\,\dot\alpha_t / \alpha_t$.

Every coefficient is finite on the closed interval $[0, 1]$, in float32 and float64, with one
exception that is the mathematics, not the arithmetic: $\dot\sigma_0 = +\infty$, since
$\sigma_t \propto \sqrt t$ near the data. Samplers start at $t = 1$ and stop at $t_{\min} > 0$.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from coursekit._choices import check_choice
from coursekit._shapes import check_positive, time_tensor

__all__ = [
    "CosineSchedule",
    "GeometricVESchedule",
    "LinearBetaSchedule",
    "Schedule",
    "ScheduleValues",
    "get_schedule",
    "linear_alpha_sigma",
]


@dataclass(frozen=True)
class ScheduleValues:
    r"""$\alpha_t$, $\sigma_t$, $\dot\alpha_t$, $\dot\sigma_t$, each of the shape of ``t``."""

    alpha: Tensor
    sigma: Tensor
    d_alpha: Tensor
    d_sigma: Tensor


def linear_alpha_sigma(t: float | Tensor, beta_min: float = 0.1, beta_max: float = 20.0) -> tuple[Tensor, Tensor]:
    r"""Marginal coefficients of the VP SDE with a linear $\beta$ (Chapter 1, exercise).

    $$\alpha_t = \exp\Big(-\tfrac12\int_0^t \beta(s)\,ds\Big)
      = \exp\Big(-\tfrac12\big(\beta_{\min} t + \tfrac12 t^2(\beta_{\max}-\beta_{\min})\big)\Big),
      \qquad \sigma_t = \sqrt{1 - \alpha_t^2}.$$

    Args:
        t: Times in $[0, 1]$, a float or a tensor of shape ``()`` or ``(N,)``.
        beta_min: $\beta(0)$.
        beta_max: $\beta(1)$.

    Returns:
        ``(alpha, sigma)``, each of the shape of ``t``.

    Example:
        >>> alpha, sigma = linear_alpha_sigma(torch.tensor([0.0, 1.0]))
        >>> [round(float(a), 4) for a in alpha], [round(float(s), 4) for s in sigma]
        ([1.0, 0.0066], [0.0, 1.0])
    """
    t = time_tensor(t)
    integral = beta_min * t + 0.5 * t**2 * (beta_max - beta_min)  # \int_0^t beta(s) ds
    alpha = torch.exp(-0.5 * integral)
    sigma = torch.sqrt(-torch.expm1(-integral))  # sqrt(1 - alpha^2), accurate near t = 0
    return alpha, sigma


class Schedule(ABC):
    r"""A noise schedule: ``schedule(t)`` returns :class:`ScheduleValues` at times ``t``."""

    @abstractmethod
    def __call__(self, t: float | Tensor) -> ScheduleValues:
        r"""Evaluate $\alpha_t, \sigma_t, \dot\alpha_t, \dot\sigma_t$; ``t`` scalar or ``(N,)``."""

    def alpha_sigma(self, t: float | Tensor) -> tuple[Tensor, Tensor]:
        r"""Return $(\alpha_t, \sigma_t)$, each of the shape of ``t``."""
        values = self(t)
        return values.alpha, values.sigma


@dataclass(frozen=True)
class LinearBetaSchedule(Schedule):
    r"""VP schedule with $\beta(t) = \beta_{\min} + t(\beta_{\max}-\beta_{\min})$ (Chapters 1, 6).

    $\dot\alpha_t = -\tfrac12\beta(t)\alpha_t$ and
    $\dot\sigma_t = \tfrac12\beta(t)\alpha_t^2/\sigma_t$ (infinite at $t = 0$).

    Args:
        beta_min: $\beta(0) > 0$ (default 0.1).
        beta_max: $\beta(1) \ge \beta_{\min}$ (default 20).
    """

    beta_min: float = 0.1
    beta_max: float = 20.0

    def __post_init__(self) -> None:
        check_positive(self.beta_min, "beta_min")
        check_positive(self.beta_max, "beta_max")
        if self.beta_max < self.beta_min:
            raise ValueError(f"beta_max ({self.beta_max}) must be >= beta_min ({self.beta_min})")

    def beta(self, t: float | Tensor) -> Tensor:
        r"""The rate $\beta(t)$, of the shape of ``t``."""
        t = time_tensor(t)
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def __call__(self, t: float | Tensor) -> ScheduleValues:
        """Evaluate the schedule at ``t`` (scalar or ``(N,)``)."""
        alpha, sigma = linear_alpha_sigma(t, self.beta_min, self.beta_max)
        beta = self.beta(t)
        d_alpha = -0.5 * beta * alpha
        d_sigma = -alpha * d_alpha / sigma
        return ScheduleValues(alpha, sigma, d_alpha, d_sigma)


@dataclass(frozen=True)
class CosineSchedule(Schedule):
    r"""VP cosine schedule (Nichol & Dhariwal 2021), Chapter 6.

    $$\alpha_t = \frac{\cos\big(\tfrac{\pi}{2}\tfrac{t+s}{1+s}\big)}{\cos\big(\tfrac{\pi}{2}\tfrac{s}{1+s}\big)},
      \qquad \sigma_t = \sqrt{1-\alpha_t^2},
      \qquad \beta(t) = \min\Big(\frac{\pi}{1+s}\tan\Big(\frac{\pi}{2}\frac{t+s}{1+s}\Big),\ \beta_{\max}\Big).$$

    $\alpha_1 = 0$, and the exact rate $-2\dot\alpha_t/\alpha_t$ is infinite at $t = 1$ (in float32
    the angle even rounds past $\pi/2$, where the tangent is negative). As Nichol & Dhariwal clip
    their discrete $\beta_k$ at 0.999, the rate is clipped at $\beta_{\max}$, which it reaches at
    $t \approx 1 - 2/\beta_{\max}$; so the SDE, and every sampler started at $t = 1$, stays
    finite. In that last stretch the clipped SDE noises a little less than $\alpha_t$ says (it
    ends at $\alpha \approx 1.2/\beta_{\max}$ instead of 0), a gap below what a sampler started
    from $\mathcal N(0, I)$ can see.

    Args:
        s: Offset that keeps $\beta$ small near $t = 0$ (default 0.008).
        beta_max: Largest rate $\beta(t)$ (default 100).
    """

    s: float = 0.008
    beta_max: float = 100.0

    def __post_init__(self) -> None:
        check_positive(self.s, "s")
        check_positive(self.beta_max, "beta_max")

    def _angle(self, t: Tensor) -> Tensor:
        return 0.5 * math.pi * (t + self.s) / (1 + self.s)

    def beta(self, t: float | Tensor) -> Tensor:
        r"""The rate $\beta(t) = -2\dot\alpha_t/\alpha_t$, clipped at $\beta_{\max}$; of the shape of ``t``."""
        t = time_tensor(t)
        rate = math.pi / (1 + self.s)
        # clip the angle, not the tangent: past pi/2 (float32 rounding at t = 1) the tangent is negative
        angle = self._angle(t).clamp(max=math.atan(self.beta_max / rate))
        return rate * torch.tan(angle)

    def __call__(self, t: float | Tensor) -> ScheduleValues:
        """Evaluate the schedule at ``t`` (scalar or ``(N,)``)."""
        t = time_tensor(t)
        angle = self._angle(t)
        norm = math.cos(0.5 * math.pi * self.s / (1 + self.s))
        alpha = (torch.cos(angle) / norm).clamp_min(0.0)  # cos(pi/2) rounds to -4e-8 in float32
        sigma = torch.sqrt((1 - alpha**2).clamp_min(0.0))
        d_alpha = -torch.sin(angle) * (0.5 * math.pi / (1 + self.s)) / norm
        d_sigma = -alpha * d_alpha / sigma
        return ScheduleValues(alpha, sigma, d_alpha, d_sigma)


@dataclass(frozen=True)
class GeometricVESchedule(Schedule):
    r"""Variance-exploding schedule of the VE SDE (Song et al. 2021), Chapters 1, 6.

    The SDE $dx = \sqrt{d[\bar\sigma^2(t)]/dt}\,dW$ with
    $\bar\sigma(t) = \sigma_{\min}(\sigma_{\max}/\sigma_{\min})^t$, started at the data, has
    $$\alpha_t = 1, \qquad \sigma_t = \sqrt{\bar\sigma(t)^2 - \sigma_{\min}^2}.$$

    Args:
        sigma_min: $\bar\sigma(0) > 0$ (default 0.01).
        sigma_max: $\bar\sigma(1) > \sigma_{\min}$ (default 10, which dominates 2D toy data).
    """

    sigma_min: float = 0.01
    sigma_max: float = 10.0

    def __post_init__(self) -> None:
        check_positive(self.sigma_min, "sigma_min")
        check_positive(self.sigma_max, "sigma_max")
        if self.sigma_max <= self.sigma_min:
            raise ValueError(f"sigma_max ({self.sigma_max}) must exceed sigma_min ({self.sigma_min})")

    def sigma_bar(self, t: float | Tensor) -> Tensor:
        r"""$\bar\sigma(t) = \sigma_{\min}(\sigma_{\max}/\sigma_{\min})^t$, of the shape of ``t``."""
        t = time_tensor(t)
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def __call__(self, t: float | Tensor) -> ScheduleValues:
        """Evaluate the schedule at ``t`` (scalar or ``(N,)``)."""
        sigma_bar = self.sigma_bar(t)
        alpha = torch.ones_like(sigma_bar)
        sigma = torch.sqrt((sigma_bar**2 - self.sigma_min**2).clamp_min(0.0))
        log_ratio = math.log(self.sigma_max / self.sigma_min)
        d_sigma = sigma_bar**2 * log_ratio / sigma  # d/dt sqrt(sigma_bar^2 - sigma_min^2)
        return ScheduleValues(alpha, sigma, torch.zeros_like(alpha), d_sigma)


_SCHEDULES: dict[str, type[Schedule]] = {
    "linear": LinearBetaSchedule,
    "cosine": CosineSchedule,
    "ve": GeometricVESchedule,
}


def get_schedule(name: str, **kwargs: float) -> Schedule:
    """Build a schedule by name: ``"linear"``, ``"cosine"`` or ``"ve"``.

    Args:
        name: The schedule's name.
        **kwargs: Its parameters, e.g. ``beta_min=0.1, beta_max=20``.

    Returns:
        The schedule.

    Raises:
        ValueError: For an unknown name; the message lists the valid ones.
    """
    return _SCHEDULES[check_choice(name, _SCHEDULES, "schedule")](**kwargs)
