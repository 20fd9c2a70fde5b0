r"""Samplers of score-based diffusion: from noise at $t = 1$ back to data near $t = 0$ (Chapter 6).

All take the forward SDE $dx = f\,dt + g\,dW$, a score ``score(x, t)`` $\approx \nabla\log p_t(x)$ and starting points
``x`` drawn from the terminal law (:func:`sample_prior`), and integrate from ``t_max`` (default 1) down to a small
``t_min > 0`` in ``n_steps`` steps (a grid of ``n_steps + 1`` times, :func:`coursekit.sde.time_grids.sampling_grid`).
They return a :class:`SamplerOutput`, the course's one result type (:class:`coursekit.flows.ode.Solution`), and build no
autograd graph unless asked with ``enable_grad=True``. Each step is one
:func:`coursekit.sde.solvers.euler_maruyama_step` with a negative time step. The samplers that take Langevin steps at
fixed noise levels (predictor-corrector, annealed Langevin) are in :mod:`coursekit.diffusion.annealed_langevin`.

**A family of samplers** ("adding a smart zero"). For any $\lambda \ge 0$, the SDE run backward
$$dx = \Big[f(x, t) - \frac{1 + \lambda^2}{2}\, g(t)^2\, \nabla\log p_t(x)\Big]\,dt + \lambda\, g(t)\, d\bar W_t$$
has the marginals $p_t$. Derivation: its Fokker-Planck equation (time running backward) is
$\partial_t p = -\nabla\cdot(p\,b) - \tfrac{\lambda^2 g^2}{2}\Delta p$ with drift $b$; writing
$\Delta p = \nabla\cdot(p\,\nabla\log p)$ turns it into the continuity equation of the velocity
$b + \tfrac{\lambda^2 g^2}{2}\nabla\log p = f - \tfrac12 g^2\nabla\log p$, the probability-flow
velocity, whose continuity equation the marginals $p_t$ solve. $\lambda = 0$ is the probability-flow
ODE, $\lambda = 1$ the reverse-time SDE (Anderson 1982; Song et al. 2021); the noise term adds
and the extra score term subtracts the same diffusion, a zero that corrects errors on the way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from coursekit._shapes import as_time, broadcast_time, check_points, check_positive, check_positive_int
from coursekit.density.reverse_time import probability_flow_velocity
from coursekit.flows.ode import Solution, integrate
from coursekit.rng import randn, randn_like
from coursekit.sde.processes import SDE
from coursekit.sde.solvers import euler_maruyama_step
from coursekit.sde.time_grids import sampling_grid

__all__ = [
    "SamplerOutput",
    "family_drift",
    "family_sample",
    "probability_flow_sample",
    "reverse_sde_sample",
    "reverse_sde_step",
    "sample_prior",
]

Score = Callable[[Tensor, Tensor], Tensor]

SamplerOutput = Solution
"""Result of a sampler: :class:`coursekit.flows.ode.Solution` (samples, nfe, trajectory, t_grid)."""


def sample_prior(
    sde: SDE,
    n: int,
    d: int,
    *,
    t_max: float = 1.0,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    r"""Draw from the approximate terminal law $\mathcal N(0, \sigma_{t_{\max}}^2 I)$ (Chapter 6).

    Exact in the limit $\alpha_{t_{\max}} \to 0$ (VP: $\sigma_1 \approx 1$; VE: $\sigma_1 \approx \sigma_{\max}$).

    Args:
        sde: The forward SDE.
        n: Number of points.
        d: Dimension.
        t_max: The time the samplers start from.
        generator: Source of randomness.
        device: Device of the result.
        dtype: Floating dtype of the result.

    Returns:
        Points, shape ``(n, d)``.
    """
    check_positive_int(n, "n")
    check_positive_int(d, "d")
    z = randn((n, d), generator=generator, device=device, dtype=dtype)
    return float(sde.marginal_coefficients(float(t_max))[1]) * z


def reverse_sde_step(
    sde: SDE,
    score: Score,
    x: Tensor,
    t: float | Tensor,
    dt: float,
    *,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
) -> Tensor:
    r"""One Euler-Maruyama step of the reverse-time SDE, from $t$ to $t - \Delta t$ (Chapter 6, exercise).

    $$x_{t-\Delta t} = x_t - \big[f(x_t, t) - g(t)^2\, s(x_t, t)\big]\,\Delta t + g(t)\,\sqrt{\Delta t}\; z,
      \qquad z \sim \mathcal N(0, I).$$

    Args:
        sde: The forward SDE.
        score: ``score(x, t) -> (N, d)``.
        x: Points at time ``t``, shape ``(N, d)``.
        t: Current time, scalar or ``(N,)``.
        dt: Step $\Delta t > 0$ (time decreases).
        generator: Source of randomness for $z$.
        noise: Optional $z$, shape ``(N, d)``; given, the step is deterministic.

    Returns:
        Points at time $t - \Delta t$, shape ``(N, d)``.
    """
    return _family_step(sde, score, x, as_time(t, x), check_positive(dt, "dt"), 1.0, _noise(x, noise, generator))


def family_drift(sde: SDE, score: Score, x: Tensor, t: float | Tensor, lam: float) -> Tensor:
    r"""Drift $f - \frac{1+\lambda^2}{2} g^2 s$ of the sampler family (Chapter 6, exercise).

    $\lambda = 0$ gives the probability-flow velocity, $\lambda = 1$ the reverse-SDE drift;
    the matching noise is $\lambda\, g(t)\, d\bar W$.

    Args:
        sde: The forward SDE.
        score: ``score(x, t) -> (N, d)``.
        x: Points, shape ``(N, d)``.
        t: Time, scalar or ``(N,)``.
        lam: $\lambda \ge 0$.

    Returns:
        The drift, shape ``(N, d)``; integrate it with decreasing times.

    Raises:
        ValueError: For $\lambda < 0$, or an SDE with multiplicative noise (``sde.noise_type``).
    """
    check_points(x)
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    _check_additive(sde)
    t = as_time(t, x)
    g = broadcast_time(sde.diffusion(t), x)
    return sde.drift(x, t) - 0.5 * (1 + lam**2) * g**2 * score(x, t)


def _check_additive(sde: SDE) -> SDE:
    """Refuse an SDE with multiplicative noise: the reverse-time drift $f - g^2 s$ assumes $G = g(t)$."""
    if getattr(sde, "noise_type", "additive") != "additive":
        kind = f"{type(sde).__name__} has {sde.noise_type} noise"
        raise ValueError(f"the reverse-time samplers need additive noise G = g(t); {kind}")
    return sde


def _noise(x: Tensor, noise: Tensor | None, generator: torch.Generator | None) -> Tensor:
    check_points(x)
    if noise is None:
        return randn_like(x, generator=generator)
    if noise.shape != x.shape:
        raise ValueError(f"noise must have the shape of x {tuple(x.shape)}, got {tuple(noise.shape)}")
    return noise


def _family_step(
    sde: SDE, score: Score, x: Tensor, t: Tensor, dt: float | Tensor, lam: float, z: Tensor | None
) -> Tensor:
    drift = family_drift(sde, score, x, t, lam)
    if z is None or lam == 0:
        return euler_maruyama_step(x, drift, -dt)  # time decreases by dt
    # G dW = (lam g sqrt(dt)) z
    return euler_maruyama_step(x, drift, -dt, lam * broadcast_time(sde.diffusion(t), x) * dt**0.5, z)


def family_sample(
    sde: SDE,
    score: Score,
    x: Tensor,
    *,
    lam: float = 1.0,
    n_steps: int = 500,
    t_min: float = 1e-3,
    t_max: float = 1.0,
    generator: torch.Generator | None = None,
    return_trajectory: bool = False,
    enable_grad: bool = False,
) -> SamplerOutput:
    r"""Euler-Maruyama on the family $dx = [f - \frac{1+\lambda^2}{2}g^2 s]\,dt + \lambda g\,d\bar W$ (Chapter 6).

    Uniform steps from ``t_max`` down to ``t_min``; the last step adds no noise (it returns the
    step's mean, as Song et al. 2021 do). One score evaluation per step.

    Args:
        sde: The forward SDE.
        score: ``score(x, t) -> (N, d)``.
        x: Starting points at ``t_max``, shape ``(N, d)``.
        lam: $\lambda \ge 0$ (0: probability-flow ODE with Euler; 1: reverse SDE).
        n_steps: Number of steps.
        t_min: Final time $> 0$.
        t_max: Starting time.
        generator: Source of randomness.
        return_trajectory: Also return the states, shape ``(n_steps + 1, N, d)``.
        enable_grad: Build the autograd graph through the steps (off by default).

    Returns:
        :class:`SamplerOutput` with samples ``(N, d)``, ``nfe = n_steps`` and the grid ``(n_steps + 1,)``.
    """
    check_points(x)
    t_grid = sampling_grid(n_steps, t_min=t_min, t_max=t_max, like=x)
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    states = [x]
    with torch.set_grad_enabled(enable_grad):
        for k in range(n_steps):
            t, dt = t_grid[k], t_grid[k] - t_grid[k + 1]
            z = randn_like(x, generator=generator) if k < n_steps - 1 and lam > 0 else None
            x = _family_step(sde, score, x, t, dt, lam, z)
            if return_trajectory:
                states.append(x)
        trajectory = torch.stack(states) if return_trajectory else None
    return SamplerOutput(x, n_steps, trajectory, t_grid)


def reverse_sde_sample(
    sde: SDE,
    score: Score,
    x: Tensor,
    *,
    n_steps: int = 500,
    t_min: float = 1e-3,
    t_max: float = 1.0,
    generator: torch.Generator | None = None,
    return_trajectory: bool = False,
    enable_grad: bool = False,
) -> SamplerOutput:
    r"""Sample with the reverse-time SDE $dx = [f - g^2 s]\,dt + g\,d\bar W$ and Euler-Maruyama (Chapter 6).

    :func:`family_sample` with $\lambda = 1$; arguments as there.

    Args:
        sde: The forward SDE.
        score: ``score(x, t) -> (N, d)``.
        x: Starting points at ``t_max``, shape ``(N, d)``.
        n_steps: Number of steps.
        t_min: Final time $> 0$.
        t_max: Starting time.
        generator: Source of randomness.
        return_trajectory: Also return the states, shape ``(n_steps + 1, N, d)``.
        enable_grad: Build the autograd graph through the steps (off by default).

    Returns:
        :class:`SamplerOutput` with samples ``(N, d)``, ``nfe = n_steps`` and the grid ``(n_steps + 1,)``.
    """
    return family_sample(
        sde,
        score,
        x,
        lam=1.0,
        n_steps=n_steps,
        t_min=t_min,
        t_max=t_max,
        generator=generator,
        return_trajectory=return_trajectory,
        enable_grad=enable_grad,
    )


def probability_flow_sample(
    sde: SDE,
    score: Score,
    x: Tensor,
    *,
    t_min: float = 1e-3,
    t_max: float = 1.0,
    method: str = "dopri5",
    rtol: float = 1e-5,
    atol: float = 1e-5,
    n_steps: int = 1,
    enable_grad: bool = False,
) -> SamplerOutput:
    r"""Integrate the probability-flow ODE $\dot x = f - \tfrac12 g^2 s$ from ``t_max`` to ``t_min`` (Chapter 6).

    Deterministic: the only randomness is in ``x``. Solved by :func:`coursekit.flows.ode.integrate`
    (torchdiffeq), which counts the function evaluations.

    Args:
        sde: The forward SDE.
        score: ``score(x, t) -> (N, d)``.
        x: Starting points at ``t_max``, shape ``(N, d)``.
        t_min: Final time $> 0$.
        t_max: Starting time.
        method: A torchdiffeq method: adaptive ``"dopri5"`` (default), or fixed-step ``"euler"``, ``"rk4"``, ...
        rtol: Relative tolerance (adaptive methods).
        atol: Absolute tolerance (adaptive methods).
        n_steps: Number of intervals of the output grid (the step count of a fixed-step method).
        enable_grad: Build the autograd graph through the solve (off by default).

    Returns:
        :class:`SamplerOutput` with samples ``(N, d)``, the NFE, the trajectory ``(n_steps+1, N, d)`` and its grid.
    """
    check_points(x)
    _check_additive(sde)
    t_grid = sampling_grid(n_steps, t_min=t_min, t_max=t_max, like=x)
    velocity = probability_flow_velocity(sde, score)
    return integrate(velocity, x, t_grid, method=method, rtol=rtol, atol=atol, enable_grad=enable_grad)
