r"""Exact log-likelihood of a diffusion model through its probability-flow ODE (Chapter 6).

Along the probability-flow ODE $\dot x_t = v_t(x_t) = f(x_t, t) - \tfrac12 g(t)^2 s(x_t, t)$, the
instantaneous change of variables (Chen et al. 2018) gives
$\frac{d}{dt}\log p_t(x_t) = -\nabla\cdot v_t(x_t)$, so, solving from the data at $t_{\min}$ up to
$t_{\max} = 1$ (Song et al. 2021, Appendix D),
$$\log p_{t_{\min}}(x) = \log p_1(x_1) + \int_{t_{\min}}^1 \nabla\cdot v_t(x_t)\,dt,$$
with the prior $\log p_1 \approx \log\mathcal N(0, \sigma_1^2 I)$. This is the likelihood solve of
:func:`coursekit.flows.likelihood.ode_log_likelihood` with the probability-flow velocity: exact
divergence in low dimension, Hutchinson's estimate with fixed probes otherwise (FFJORD).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive
from coursekit.density.reverse_time import probability_flow_drift
from coursekit.flows.likelihood import LikelihoodResult, gaussian_prior_log_prob, ode_log_likelihood
from coursekit.sde.processes import SDE

__all__ = ["log_likelihood"]

Score = Callable[[Tensor, Tensor], Tensor]


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
        :class:`coursekit.flows.likelihood.LikelihoodResult`; ``log_prob`` has shape ``(N,)``.
    """
    check_points(x)
    check_positive(t_min, "t_min")
    if not t_min < t_max <= 1:
        raise ValueError(f"need 0 < t_min < t_max <= 1, got t_min={t_min}, t_max={t_max}")
    if prior_log_prob is None:
        std = float(sde.marginal_coefficients(float(t_max))[1])

        def prior_log_prob(y: Tensor) -> Tensor:
            return gaussian_prior_log_prob(y, std)

    def velocity(y: Tensor, t: Tensor) -> Tensor:
        return probability_flow_drift(sde, score, y, t)

    t_grid = torch.tensor([t_min, t_max], device=x.device, dtype=x.dtype)
    return ode_log_likelihood(
        velocity,
        x,
        t_grid,
        divergence=divergence,
        n_probes=n_probes,
        distribution=distribution,
        generator=generator,
        prior_log_prob=prior_log_prob,
        method=method,
        rtol=rtol,
        atol=atol,
    )
