r"""The log-likelihood along an ODE: the instantaneous change of variables (Chapters 3, 4, 6).

Along a characteristic $\dot x_t = v(x_t, t)$ the log-density obeys (Chen et al. 2018)
$$\frac{d}{dt}\log p_t(x_t) = -\nabla\cdot v(x_t, t).$$
Integrating the augmented state $[x_t,\ \Delta_t]$ with $\dot\Delta_t = \nabla\cdot v(x_t, t)$ and
$\Delta_{t_0} = 0$ from the data at $t_0$ to the prior's time $t_1$ gives
$$\log p_{t_0}(x) = \log p_{t_1}(x_{t_1}) + \int_{t_0}^{t_1} \nabla\cdot v(x_t, t)\,dt
  = \log p_{t_1}(x_{t_1}) + \Delta_{t_1}.$$
This module holds the one implementation of that solve, used by the CNF (Chapter 3), OT-Flow
(Chapter 4, whose potential gives the divergence in closed form and two running costs) and the
probability-flow ODE of a diffusion model (Chapter 6, :mod:`coursekit.diffusion.likelihood`):

* :func:`integrate_log_likelihood` takes a *field* ``field(x, t) -> (v, div)`` (or ``(v, div, costs)``
  with ``costs`` of shape ``(N, k)``, integrated alongside) and solves for $[x, \Delta, C]$;
* :func:`ode_log_likelihood` builds the field from a plain velocity, with the divergence by
  autograd: exact ($d$ backward passes) or Hutchinson's estimate with probes fixed along the solve
  (FFJORD, Grathwohl et al. 2019), see :func:`velocity_and_divergence`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from coursekit._choices import check_choice
from coursekit._shapes import check_points, check_positive, check_positive_int
from coursekit.flows.divergence import probe_estimate, sample_probes, trace_of_jacobian
from coursekit.flows.ode import integrate

__all__ = [
    "LikelihoodResult",
    "augmented_dynamics",
    "gaussian_prior_log_prob",
    "integrate_log_likelihood",
    "ode_log_likelihood",
    "velocity_and_divergence",
]

Velocity = Callable[[Tensor, Any], Tensor]  # (x, t) -> v (N, d), t a number or a 0-d tensor
Field = Callable[[Tensor, Any], Sequence[Tensor]]  # (x, t) -> (v (N, d), div (N,)[, costs (N, k)])
LogProb = Callable[[Tensor], Tensor]
DIVERGENCES = ("exact", "hutchinson")


@dataclass(frozen=True)
class LikelihoodResult:
    r"""Result of a likelihood solve (:func:`integrate_log_likelihood` and every function built on it).

    Attributes:
        log_prob: $\log p_{t_0}(x) = \log p_{t_1}(x_{t_1}) + \Delta_{t_1}$, shape ``(N,)``.
        prior_log_prob: $\log p_{t_1}(x_{t_1})$, shape ``(N,)``.
        delta_log_prob: $\Delta_{t_1} = \int_{t_0}^{t_1}\nabla\cdot v\,dt$, shape ``(N,)``.
        x_noise: The end points $x_{t_1}$ of the ODE, shape ``(N, d)``.
        nfe: Number of evaluations of the augmented field.
        trajectory: The states $x$ on the time grid, shape ``(T+1, N, d)`` (time-first), or ``None``.
        running_costs: $\int_{t_0}^{t_1} c(x_t, t)\,dt$ of the field's extra integrands, shape
            ``(N, k)``, or ``None`` when it has none.
    """

    log_prob: Tensor
    prior_log_prob: Tensor
    delta_log_prob: Tensor
    x_noise: Tensor
    nfe: int
    trajectory: Tensor | None = None
    running_costs: Tensor | None = None

    @property
    def bits_per_dim(self) -> Tensor:
        r"""$-\log_2 p(x)/d$, shape ``(N,)``."""
        return -self.log_prob / (math.log(2.0) * self.x_noise.shape[1])


def gaussian_prior_log_prob(x: Tensor, std: float = 1.0) -> Tensor:
    r"""Log-density of the Gaussian prior, $\log\mathcal N(x;\ 0, s^2 I)$ (Chapters 3, 4, 6).

    $$\log\mathcal N(x;\ 0, s^2 I) = -\frac{\|x\|^2}{2s^2} - \frac d2\log(2\pi s^2).$$

    Args:
        x: Points, shape ``(N, d)``.
        std: $s > 0$.

    Returns:
        Log-density, shape ``(N,)``.
    """
    check_points(x)
    std = check_positive(std, "std")
    return -0.5 * (x**2).sum(1) / std**2 - 0.5 * x.shape[1] * math.log(2 * math.pi * std**2)


def velocity_and_divergence(
    velocity: Velocity, x: Tensor, t: float | Tensor, *, probes: Tensor | None = None, create_graph: bool = False
) -> tuple[Tensor, Tensor]:
    r"""$v(x, t)$ and $\nabla\cdot v(x, t)$ by autograd: the exact trace, or Hutchinson's estimate (Chapters 3, 6).

    $$\nabla\cdot v = \operatorname{tr}\frac{\partial v}{\partial x}
      \quad\text{or}\quad \frac1K\sum_{k=1}^K z_k^\top \frac{\partial v}{\partial x} z_k .$$

    Args:
        velocity: $v(x, t)$, ``(N, d), () -> (N, d)``.
        x: Points, shape ``(N, d)``.
        t: Time, a scalar.
        probes: Hutchinson probes ``(K, N, d)``; ``None``: the exact trace ($d$ backward passes).
        create_graph: Keep the graph (to train through the solve); otherwise both results are detached.

    Returns:
        ``(v, div)`` with shapes ``(N, d)`` and ``(N,)``.
    """
    with torch.enable_grad():
        if not (create_graph and x.requires_grad):
            x = x.detach().requires_grad_(True)
        v = velocity(x, t)
        div = (
            trace_of_jacobian(v, x, create_graph=create_graph)
            if probes is None
            else probe_estimate(v, x, probes, create_graph=create_graph)
        )
    return (v, div) if create_graph else (v.detach(), div.detach())


def augmented_dynamics(field: Field, state: Tensor, t: float | Tensor, *, dim: int) -> Tensor:
    r"""Right-hand side $\frac{d}{dt}[x, \Delta, C] = [v(x, t),\ \nabla\cdot v(x, t),\ c(x, t)]$ (Chapters 3, 4, 6).

    Args:
        field: ``field(x, t) -> (v, div)`` or ``(v, div, costs)``, shapes ``(N, d)``, ``(N,)``, ``(N, k)``.
        state: $[x, \Delta, C]$, shape ``(N, d + 1 + k)``.
        t: Time, a scalar.
        dim: The dimension $d$ of $x$.

    Returns:
        The time derivative of the state, shape ``(N, d + 1 + k)``.

    Example:
        >>> augmented_dynamics(lambda x, t: (2 * x, x.sum(1)), torch.ones(1, 3), 0.0, dim=2)
        tensor([[2., 2., 2.]])
    """
    check_points(state, "state")
    n, k = state.shape[0], state.shape[1] - dim - 1
    if k < 0:
        raise ValueError(f"state must have shape (N, d + 1 + k) with d = {dim}, got shape {tuple(state.shape)}")
    out = field(state[:, :dim], t)
    v, div, costs = out[0], out[1], (out[2] if len(out) > 2 else state.new_zeros(n, 0))
    if v.shape != (n, dim) or div.shape != (n,) or costs.shape != (n, k):
        raise ValueError(
            f"field must return v {(n, dim)}, div {(n,)} and costs {(n, k)} for a state of shape "
            f"{tuple(state.shape)}, got {[tuple(o.shape) for o in out]}"
        )
    return torch.cat([v, div[:, None], costs], dim=1)  # (N, d) + (N, 1) + (N, k) -> (N, d + 1 + k)


def integrate_log_likelihood(
    field: Field,
    x: Tensor,
    t_grid: Tensor,
    *,
    n_costs: int = 0,
    prior_log_prob: LogProb | None = None,
    method: str = "dopri5",
    rtol: float = 1e-5,
    atol: float = 1e-5,
    enable_grad: bool = False,
) -> LikelihoodResult:
    r"""Solve for $[x, \Delta, C]$: $\log p_{t_0}(x) = \log p_{t_1}(x_{t_1}) + \Delta_{t_1}$ (Chapters 3, 4, 6).

    Here $\Delta_{t_1} = \int_{t_0}^{t_1}\nabla\cdot v\,dt$ and $C_{t_1} = \int_{t_0}^{t_1} c\,dt$. The
    solve runs from ``t_grid[0]`` (the data) to ``t_grid[-1]`` (the prior) through
    :func:`coursekit.flows.ode.integrate`, with $\Delta$ and the running costs $C$ starting at 0.
    With ``enable_grad=True`` the result is differentiable where ``field`` is (training).

    Args:
        field: ``field(x, t) -> (v, div)``, or ``(v, div, costs)`` with ``costs`` of shape ``(N, n_costs)``.
        x: Data points at ``t_grid[0]``, shape ``(N, d)``.
        t_grid: Times, shape ``(T+1,)``, strictly monotone; a fixed-step method takes one step per interval.
        n_costs: Number $k$ of running costs the field returns.
        prior_log_prob: $\log p_{t_1}$ as ``(N, d) -> (N,)``; default $\mathcal N(0, I)$.
        method: A method of :func:`coursekit.flows.ode.integrate`.
        rtol: Relative tolerance (adaptive methods).
        atol: Absolute tolerance (adaptive methods).
        enable_grad: Build the autograd graph through the solve (off by default).

    Returns:
        :class:`LikelihoodResult` with the trajectory and, if ``n_costs > 0``, the running costs.

    Example:
        >>> field = lambda x, t: (-x, -x.new_ones(1))  # v = -x, div v = -1
        >>> res = integrate_log_likelihood(field, torch.zeros(1, 1), torch.tensor([0.0, 1.0]))
        >>> round(float(res.delta_log_prob), 4), round(float(res.log_prob), 4)  # -1 - log(2 pi)/2
        (-1.0, -1.9189)
    """
    check_points(x)
    if not isinstance(n_costs, int) or n_costs < 0:
        raise ValueError(f"n_costs must be a non-negative int, got {n_costs!r}")
    n, d = x.shape
    state = torch.cat([x, torch.zeros(n, 1 + n_costs, device=x.device, dtype=x.dtype)], dim=1)  # (N, d + 1 + k)
    solution = integrate(
        lambda s, t: augmented_dynamics(field, s, t, dim=d),
        state,
        t_grid,
        method=method,
        rtol=rtol,
        atol=atol,
        enable_grad=enable_grad,
    )
    trajectory = solution.trajectory  # (T+1, N, d + 1 + k)
    assert trajectory is not None  # integrate always keeps it
    end = trajectory[-1]
    x_noise, delta = end[:, :d], end[:, d]
    prior = gaussian_prior_log_prob(x_noise) if prior_log_prob is None else prior_log_prob(x_noise)
    if not isinstance(prior, Tensor) or prior.shape != (n,):
        shape = tuple(prior.shape) if isinstance(prior, Tensor) else type(prior).__name__
        raise ValueError(f"prior_log_prob must return shape ({n},), got {shape}")
    return LikelihoodResult(
        prior + delta, prior, delta, x_noise, solution.nfe, trajectory[:, :, :d], end[:, d + 1 :] if n_costs else None
    )


def ode_log_likelihood(
    velocity: Velocity,
    x: Tensor,
    t_grid: Tensor,
    *,
    divergence: str = "exact",
    n_probes: int = 1,
    distribution: str = "rademacher",
    generator: torch.Generator | None = None,
    prior_log_prob: LogProb | None = None,
    create_graph: bool = False,
    method: str = "dopri5",
    rtol: float = 1e-5,
    atol: float = 1e-5,
) -> LikelihoodResult:
    r"""Log-likelihood of data points under the flow $\dot x = v(x, t)$, divergence by autograd (Chapters 3, 6).

    $$\log p_{t_0}(x) = \log p_{t_1}(x_{t_1}) + \int_{t_0}^{t_1} \nabla\cdot v(x_t, t)\,dt,$$
    with the exact divergence or Hutchinson's (probes drawn once, fixed along the solve).

    Args:
        velocity: $v(x, t)$, ``(N, d), () -> (N, d)``, differentiable in ``x``.
        x: Data points at ``t_grid[0]``, shape ``(N, d)``.
        t_grid: Times from the data to the prior, shape ``(T+1,)`` (see :func:`integrate_log_likelihood`).
        divergence: ``"exact"`` ($d$ backward passes per evaluation) or ``"hutchinson"``.
        n_probes: Hutchinson probes per point.
        distribution: Probe law, ``"rademacher"`` or ``"gaussian"``.
        generator: Source of the probes.
        prior_log_prob: $\log p_{t_1}$ as ``(N, d) -> (N,)``; default $\mathcal N(0, I)$.
        create_graph: Keep the graph through the solve (training); otherwise nothing is differentiable.
        method: A method of :func:`coursekit.flows.ode.integrate`.
        rtol: Relative tolerance (adaptive methods).
        atol: Absolute tolerance (adaptive methods).

    Returns:
        :class:`LikelihoodResult`.

    Example:
        >>> res = ode_log_likelihood(lambda x, t: x, torch.zeros(1, 2), torch.tensor([0.0, 1.0]))
        >>> round(float(res.log_prob), 4)  # log N(0; 0, I) + 2: the flow x -> e^t x expands the plane by e^2
        0.1621
    """
    check_points(x)
    check_choice(divergence, DIVERGENCES, "divergence")
    n, d = x.shape
    probes = None
    if divergence == "hutchinson":
        check_positive_int(n_probes, "n_probes")
        probes = sample_probes(
            (n_probes, n, d), distribution=distribution, generator=generator, device=x.device, dtype=x.dtype
        )

    def field(y: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        return velocity_and_divergence(velocity, y, t, probes=probes, create_graph=create_graph)

    return integrate_log_likelihood(
        field,
        x if create_graph else x.detach(),
        t_grid,
        prior_log_prob=prior_log_prob,
        method=method,
        rtol=rtol,
        atol=atol,
        enable_grad=create_graph,
    )


def __getattr__(name: str) -> object:
    """Say where the probability-flow likelihood went (it used to live here, as ``log_likelihood``)."""
    if name == "log_likelihood":
        raise AttributeError(
            "log_likelihood(sde, score, x) of a diffusion model moved to coursekit.diffusion."
            "likelihood; for a velocity field use ode_log_likelihood(velocity, x, t_grid)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
