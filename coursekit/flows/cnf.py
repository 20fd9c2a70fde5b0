r"""Continuous normalizing flows: the instantaneous change of variables and maximum likelihood (Chapter 3).

A CNF moves the data with $\dot x_t = v_\theta(x_t, t)$ from $t = 0$ (data) to $t = 1$, where the
points should look like $\mathcal N(0, I)$. Along a characteristic the log-density obeys
(Chen et al. 2018)
$$\frac{d}{dt}\log p_t(x_t) = -\nabla\cdot v_\theta(x_t, t),$$
so integrating the augmented state $[x_t,\ \Delta_t]$ with $\dot\Delta_t = \nabla\cdot v_\theta(x_t, t)$
and $\Delta_0 = 0$ gives the exact log-likelihood
$$\log p_\theta(x) = \log\mathcal N(x_1;\ 0, I) + \int_0^1 \nabla\cdot v_\theta(x_t, t)\,dt
  = \log\mathcal N(x_1;\ 0, I) + \Delta_1 .$$
Training maximises it (FFJORD, Grathwohl et al. 2019); sampling solves the ODE backwards from
$t = 1$ to $t = 0$. The likelihood solve is the one of :mod:`coursekit.flows.likelihood` (shared with
OT-Flow and the diffusion chapter) on a uniform grid of ``n_steps``; all solves go through
:func:`coursekit.flows.ode.integrate`, whose state may be any width: the augmented state is just an
``(N, d + 1)`` tensor.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from coursekit._shapes import check_points
from coursekit.flows.likelihood import LikelihoodResult, augmented_dynamics, ode_log_likelihood, velocity_and_divergence
from coursekit.flows.ode import Solution, integrate
from coursekit.nn.networks import MLP, TimeEmbedding
from coursekit.sde.time_grids import uniform_grid

__all__ = [
    "CNFLikelihood",
    "CNFSamples",
    "augmented_velocity",
    "log_likelihood",
    "nll_loss",
    "sample",
    "velocity_network",
]

Velocity = Callable[[Tensor, Tensor], Tensor]


def velocity_network(
    dim: int = 2, hidden: int = 64, layers: int = 3, time_features: int = 8, max_frequency: float = 4.0
) -> MLP:
    r"""A :class:`coursekit.nn.networks.MLP` $v_\theta(x, t)$ with slow time features, for a CNF (Chapter 3).

    A CNF is trained through a fixed-step solver, so its field must vary slowly in $t$: the time
    embedding uses frequencies up to ``max_frequency`` (the MLP's default goes up to 100).

    Args:
        dim: Data dimension $d$.
        hidden: Width of the hidden layers.
        layers: Number of hidden layers.
        time_features: Size of the time embedding (even).
        max_frequency: Largest angular frequency of the time features.

    Returns:
        The network, called as ``net(x, t)`` with ``x`` of shape ``(N, d)``.
    """
    net = MLP(dim, hidden=hidden, layers=layers, time_features=time_features)
    net.time_embedding = TimeEmbedding(time_features, max_frequency=max_frequency)
    return net


def augmented_velocity(
    velocity: Velocity, state: Tensor, t: float | Tensor, *, create_graph: bool = False, probes: Tensor | None = None
) -> Tensor:
    r"""Right-hand side of the augmented ODE $\frac{d}{dt}[x_t, \Delta_t] = [v(x_t, t),\ \nabla\cdot v(x_t, t)]$.

    Chapter 3.

    Args:
        velocity: $v(x, t)$, ``(N, d), () -> (N, d)``.
        state: $[x, \Delta]$, shape ``(N, d + 1)`` (the last column is the accumulated divergence).
        t: Time, a scalar.
        create_graph: Keep the graph (to train through the solve).
        probes: Hutchinson probes ``(K, N, d)`` (held fixed along a solve); ``None``: exact divergence.

    Returns:
        $[v, \nabla\cdot v]$, shape ``(N, d + 1)``.

    Example:
        >>> augmented_velocity(lambda x, t: 2 * x, torch.zeros(1, 3), 0.0)
        tensor([[0., 0., 4.]])
    """
    check_points(state, "state")

    def field(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        return velocity_and_divergence(velocity, x, s, probes=probes, create_graph=create_graph)

    return augmented_dynamics(field, state, t, dim=state.shape[1] - 1)


CNFLikelihood = LikelihoodResult
"""Result of :func:`log_likelihood`: :class:`coursekit.flows.likelihood.LikelihoodResult` under its Chapter 3 name,
built as ``CNFLikelihood(log_prob, prior_log_prob, delta_log_prob, x_noise, nfe)``."""


def log_likelihood(
    velocity: Velocity,
    x: Tensor,
    *,
    method: str = "rk4",
    n_steps: int = 8,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    create_graph: bool = False,
    divergence: str = "exact",
    n_probes: int = 1,
    generator: torch.Generator | None = None,
) -> CNFLikelihood:
    r"""$\log p_\theta(x) = \log\mathcal N(x_1; 0, I) + \int_0^1 \nabla\cdot v(x_t, t)\,dt$ by one ODE solve.

    Chapter 3.

    Args:
        velocity: $v(x, t)$, ``(N, d), () -> (N, d)``.
        x: Data points at $t = 0$, shape ``(N, d)``.
        method: ``"rk4"``, ``"midpoint"``, ``"euler"`` (``n_steps`` uniform steps) or an adaptive method.
        n_steps: Number of steps of a fixed-step method; for adaptive ones, the number of output intervals.
        rtol: Relative tolerance (adaptive methods).
        atol: Absolute tolerance (adaptive methods).
        create_graph: Keep the graph through the solve (training).
        divergence: ``"exact"`` ($d$ backward passes per evaluation) or ``"hutchinson"``.
        n_probes: Hutchinson probes per point, drawn once and fixed along the solve.
        generator: Source of the probes.

    Returns:
        :class:`CNFLikelihood`.

    Example:
        >>> res = log_likelihood(lambda x, t: torch.zeros_like(x), torch.zeros(1, 2))
        >>> round(float(res.log_prob), 4)  # -log(2 pi)
        -1.8379
    """
    check_points(x)
    t_grid = uniform_grid(0.0, 1.0, n_steps, like=x)
    return ode_log_likelihood(
        velocity,
        x,
        t_grid,
        divergence=divergence,
        n_probes=n_probes,
        generator=generator,
        create_graph=create_graph,
        method=method,
        rtol=rtol,
        atol=atol,
    )


def nll_loss(velocity: Velocity, x: Tensor, **kwargs) -> Tensor:
    r"""Mean negative log-likelihood $-\frac1N\sum_n \log p_\theta(x_n)$ in nats, differentiable (Chapter 3).

    Args:
        velocity: $v_\theta(x, t)$.
        x: Data minibatch, shape ``(N, d)``.
        **kwargs: Passed to :func:`log_likelihood` (``method``, ``n_steps``, ``divergence``, ...).

    Returns:
        The loss, a 0-d tensor.
    """
    return -log_likelihood(velocity, x, create_graph=True, **kwargs).log_prob.mean()


CNFSamples = Solution
"""Result of :func:`sample`: the course's one result type :class:`coursekit.flows.ode.Solution` under its
Chapter 3 name, with ``samples`` (the points at $t = 0$, ``(N, d)``), ``nfe``, ``trajectory`` (from $t = 1$
down to $t = 0$, ``(T+1, N, d)``, time first) and ``t_grid`` (``(T+1,)``, decreasing)."""


def sample(
    velocity: Velocity,
    x_noise: Tensor,
    *,
    method: str = "rk4",
    n_steps: int = 8,
    rtol: float = 1e-5,
    atol: float = 1e-5,
) -> CNFSamples:
    r"""Generate: solve $\dot x = v(x, t)$ backwards from noise at $t = 1$ to $t = 0$ (Chapter 3).

    Args:
        velocity: $v(x, t)$, ``(N, d), () -> (N, d)``.
        x_noise: Starting points at $t = 1$, shape ``(N, d)``.
        method: A method of :func:`coursekit.flows.ode.integrate`.
        n_steps: Fixed steps (``"rk4"``, ...) or saved intervals (adaptive methods).
        rtol: Relative tolerance (adaptive methods).
        atol: Absolute tolerance (adaptive methods).

    Returns:
        :class:`CNFSamples`; NFE is $4 \times$ ``n_steps`` for RK4.
    """
    check_points(x_noise, "x_noise")
    t_grid = uniform_grid(1.0, 0.0, n_steps, like=x_noise)
    with torch.no_grad():
        solution = integrate(velocity, x_noise, t_grid, method=method, rtol=rtol, atol=atol)
    trajectory = solution.trajectory
    assert trajectory is not None  # integrate always keeps it
    return CNFSamples(samples=trajectory[-1], nfe=solution.nfe, trajectory=trajectory, t_grid=t_grid)
