r"""Exact log-likelihood of a diffusion model through its probability-flow ODE (Chapter 6).

Along the probability-flow ODE $\dot x_t = v_t(x_t) = f(x_t, t) - \tfrac12 g(t)^2 s(x_t, t)$, the
instantaneous change of variables (Chen et al. 2018) gives
$\frac{d}{dt}\log p_t(x_t) = -\nabla\cdot v_t(x_t)$. Integrating the augmented state
$[x_t,\ \Delta_t]$ with $\dot\Delta_t = \nabla\cdot v_t(x_t)$, $\Delta_{t_{\min}} = 0$, from the
data at $t_{\min}$ up to $t = 1$:
$$\log p_{t_{\min}}(x) = \log p_1(x_1) + \int_{t_{\min}}^1 \nabla\cdot v_t(x_t)\,dt
  = \log p_1(x_1) + \Delta_1,$$
with the prior $\log p_1 \approx \log\mathcal N(0, \sigma_1^2 I)$. The divergence is exact (one
backward pass per dimension) in low dimension, Hutchinson's estimate with probes fixed along the
solve otherwise (FFJORD, Grathwohl et al. 2018; Song et al. 2021, Appendix D).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive, check_positive_int
from coursekit.divergence import probe_estimate, sample_probes, trace_of_jacobian
from coursekit.ode import integrate
from coursekit.reverse_time import probability_flow_drift
from coursekit.sde import SDE

__all__ = ["LikelihoodResult", "gaussian_prior_log_prob", "log_likelihood"]

Score = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class LikelihoodResult:
    r"""Result of :func:`log_likelihood`.

    Attributes:
        log_prob: $\log p_{t_{\min}}(x)$, shape ``(N,)``.
        prior_log_prob: $\log p_1(x_1)$, shape ``(N,)``.
        delta_log_prob: $\int_{t_{\min}}^1 \nabla\cdot v_t\,dt$, shape ``(N,)``.
        x_noise: The end points $x_1$ of the ODE, shape ``(N, d)``.
        nfe: Number of evaluations of the augmented velocity.
    """

    log_prob: Tensor
    prior_log_prob: Tensor
    delta_log_prob: Tensor
    x_noise: Tensor
    nfe: int

    @property
    def bits_per_dim(self) -> Tensor:
        r"""$-\log_2 p(x)/d$, shape ``(N,)``."""
        return -self.log_prob / (math.log(2.0) * self.x_noise.shape[1])


def gaussian_prior_log_prob(x: Tensor, std: float = 1.0) -> Tensor:
    r"""$\log\mathcal N(x;\ 0, s^2 I) = -\tfrac{\|x\|^2}{2s^2} - \tfrac d2\log(2\pi s^2)$, shape ``(N,)`` (Chapter 6).

    Args:
        x: Points, shape ``(N, d)``.
        std: $s > 0$.

    Returns:
        Log-density, shape ``(N,)``.
    """
    check_points(x)
    std = check_positive(std, "std")
    return -0.5 * (x**2).sum(1) / std**2 - 0.5 * x.shape[1] * math.log(2 * math.pi * std**2)


def log_likelihood(
    sde: SDE,
    score: Score,
    x: Tensor,
    *,
    t_min: float = 1e-3,
    t_max: float = 1.0,
    divergence: str = "exact",
    n_probes: int = 1,
    distribution: str = "rademacher",
    prior_log_prob: Callable[[Tensor], Tensor] | None = None,
    method: str = "dopri5",
    rtol: float = 1e-5,
    atol: float = 1e-5,
    generator: torch.Generator | None = None,
) -> LikelihoodResult:
    r"""Log-likelihood $\log p_{t_{\min}}(x)$ of data points through the probability-flow ODE (Chapter 6).

    Args:
        sde: The forward SDE.
        score: ``score(x, t) -> (N, d)``, differentiable in ``x``.
        x: Data points, shape ``(N, d)``.
        t_min: Start of the solve $> 0$ (the likelihood is that of $p_{t_{\min}}$).
        t_max: End of the solve (the prior's time).
        divergence: ``"exact"`` (autograd trace, $d$ backward passes) or ``"hutchinson"``.
        n_probes: Hutchinson probes per point (drawn once, fixed along the solve).
        distribution: Probe law, ``"rademacher"`` or ``"gaussian"``.
        prior_log_prob: $\log p_{t_{\max}}$ as ``(N, d) -> (N,)``; default $\mathcal N(0, \sigma_{t_{\max}}^2 I)$.
        method: torchdiffeq method.
        rtol: Relative tolerance.
        atol: Absolute tolerance.
        generator: Source of randomness for the probes.

    Returns:
        :class:`LikelihoodResult`; ``log_prob`` has shape ``(N,)``.
    """
    check_points(x)
    if divergence not in ("exact", "hutchinson"):
        raise ValueError(f"divergence must be 'exact' or 'hutchinson', got {divergence!r}")
    check_positive(t_min, "t_min")
    if not t_min < t_max <= 1:
        raise ValueError(f"need 0 < t_min < t_max <= 1, got t_min={t_min}, t_max={t_max}")
    n, d = x.shape
    probes = None
    if divergence == "hutchinson":
        check_positive_int(n_probes, "n_probes")
        shape = (n_probes, n, d)
        probes = sample_probes(shape, distribution=distribution, generator=generator, device=x.device, dtype=x.dtype)

    def augmented(state: Tensor, t: Tensor) -> Tensor:  # [x, Delta] -> [v, div v], (N, d+1)
        with torch.enable_grad():
            y = state[:, :d].detach().requires_grad_(True)
            v = probability_flow_drift(sde, score, y, t)
            div = trace_of_jacobian(v, y) if probes is None else probe_estimate(v, y, probes)
        return torch.cat([v.detach(), div.detach()[:, None]], dim=1)  # (N, d) + (N, 1) -> (N, d+1)

    state = torch.cat([x.detach(), torch.zeros(n, 1, device=x.device, dtype=x.dtype)], dim=1)  # (N, d+1)
    t_grid = torch.tensor([t_min, t_max], device=x.device, dtype=x.dtype)
    solution = integrate(augmented, state, t_grid, method=method, rtol=rtol, atol=atol)
    end = solution.trajectory[-1]
    x_noise, delta = end[:, :d], end[:, d]
    if prior_log_prob is None:
        std = float(sde.marginal_coefficients(float(t_max))[1])
        prior = gaussian_prior_log_prob(x_noise, std)
    else:
        prior = prior_log_prob(x_noise)
    return LikelihoodResult(prior + delta, prior, delta, x_noise, solution.nfe)
