r"""Samplers of score-based diffusion: from noise at $t = 1$ back to data near $t = 0$ (Chapter 6).

All take the forward SDE $dx = f\,dt + g\,dW$, a score ``score(x, t)`` $\approx \nabla\log p_t(x)$ and
starting points ``x`` drawn from the terminal law (:func:`sample_prior`), and integrate from
``t_max`` (default 1) down to a small ``t_min > 0``. They return a :class:`SamplerOutput`.

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
from dataclasses import dataclass

import torch
from torch import Tensor

from coursekit._shapes import as_time, broadcast_time, check_points, check_positive, check_positive_int
from coursekit.ode import integrate
from coursekit.reverse_time import probability_flow_velocity
from coursekit.rng import randn, randn_like
from coursekit.sde import SDE

__all__ = [
    "SamplerOutput",
    "annealed_langevin_sample",
    "family_drift",
    "family_sample",
    "noise_levels",
    "predictor_corrector_sample",
    "probability_flow_sample",
    "reverse_sde_sample",
    "reverse_sde_step",
    "sample_prior",
]

Score = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class SamplerOutput:
    """Result of a sampler.

    Attributes:
        samples: The final points, shape ``(N, d)``.
        nfe: Number of evaluations of the score.
        trajectory: States on the time grid, shape ``(T+1, N, d)`` (time first), if asked for.
    """

    samples: Tensor
    nfe: int
    trajectory: Tensor | None = None


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
    """
    check_points(x)
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    t = as_time(t, x)
    g = broadcast_time(sde.diffusion(t), x)
    return sde.drift(x, t) - 0.5 * (1 + lam**2) * g**2 * score(x, t)


def _noise(x: Tensor, noise: Tensor | None, generator: torch.Generator | None) -> Tensor:
    check_points(x)
    if noise is None:
        return randn_like(x, generator=generator)
    if noise.shape != x.shape:
        raise ValueError(f"noise must have the shape of x {tuple(x.shape)}, got {tuple(noise.shape)}")
    return noise


def _family_step(sde: SDE, score: Score, x: Tensor, t: Tensor, dt: float | Tensor, lam: float, z: Tensor | None) -> Tensor:
    x_new = x - family_drift(sde, score, x, t, lam) * dt
    if z is None or lam == 0:
        return x_new
    return x_new + lam * broadcast_time(sde.diffusion(t), x) * dt**0.5 * z


def _grid(x: Tensor, n_steps: int, t_min: float, t_max: float) -> Tensor:
    check_points(x)
    check_positive_int(n_steps, "n_steps")
    check_positive(t_min, "t_min")
    if not t_min < t_max <= 1:
        raise ValueError(f"need 0 < t_min < t_max <= 1, got t_min={t_min}, t_max={t_max}")
    return torch.linspace(t_max, t_min, n_steps + 1, device=x.device, dtype=x.dtype)  # decreasing


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
        return_trajectory: Also return the states, shape ``(T+1, N, d)``.

    Returns:
        :class:`SamplerOutput` with samples ``(N, d)`` and ``nfe = n_steps``.
    """
    t_grid = _grid(x, n_steps, t_min, t_max)
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    states = [x]
    for k in range(n_steps):
        t, dt = t_grid[k], t_grid[k] - t_grid[k + 1]
        z = randn_like(x, generator=generator) if k < n_steps - 1 and lam > 0 else None
        x = _family_step(sde, score, x, t, dt, lam, z)
        if return_trajectory:
            states.append(x)
    return SamplerOutput(x, n_steps, torch.stack(states) if return_trajectory else None)


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
        return_trajectory: Also return the states, shape ``(T+1, N, d)``.

    Returns:
        :class:`SamplerOutput` with samples ``(N, d)`` and ``nfe = n_steps``.
    """
    return family_sample(sde, score, x, lam=1.0, n_steps=n_steps, t_min=t_min, t_max=t_max, generator=generator,
                         return_trajectory=return_trajectory)


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
) -> SamplerOutput:
    r"""Integrate the probability-flow ODE $\dot x = f - \tfrac12 g^2 s$ from ``t_max`` to ``t_min`` (Chapter 6).

    Deterministic: the only randomness is in ``x``. Solved by :func:`coursekit.ode.integrate`
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

    Returns:
        :class:`SamplerOutput` with samples ``(N, d)``, the NFE and the trajectory ``(n_steps+1, N, d)``.
    """
    t_grid = _grid(x, n_steps, t_min, t_max)
    solution = integrate(probability_flow_velocity(sde, score), x, t_grid, method=method, rtol=rtol, atol=atol)
    return SamplerOutput(solution.trajectory[-1], solution.nfe, solution.trajectory)


def predictor_corrector_sample(
    sde: SDE,
    score: Score,
    x: Tensor,
    *,
    n_steps: int = 500,
    n_corrector: int = 1,
    snr: float = 0.16,
    t_min: float = 1e-3,
    t_max: float = 1.0,
    generator: torch.Generator | None = None,
) -> SamplerOutput:
    r"""Predictor-corrector sampling (Song et al. 2021, Algorithm 1): Langevin corrector, reverse-SDE predictor.

    At each grid time $t_k$: ``n_corrector`` Langevin steps at the fixed level $t_k$,
    $x \leftarrow x + \varepsilon\, s(x, t_k) + \sqrt{2\varepsilon}\, z$, with the signal-to-noise
    step rule $\varepsilon = 2\,(r\,\overline{\|z\|}/\overline{\|s\|})^2$ (batch means of the norms,
    $r$ = ``snr``), then one reverse-SDE Euler-Maruyama step to $t_{k+1}$ (noise-free at the end).

    Args:
        sde: The forward SDE.
        score: ``score(x, t) -> (N, d)``.
        x: Starting points at ``t_max``, shape ``(N, d)``.
        n_steps: Number of predictor steps.
        n_corrector: Langevin steps per predictor step.
        snr: Signal-to-noise ratio $r$ of the corrector.
        t_min: Final time $> 0$.
        t_max: Starting time.
        generator: Source of randomness.

    Returns:
        :class:`SamplerOutput` with samples ``(N, d)`` and ``nfe = n_steps * (1 + n_corrector)``.
    """
    t_grid = _grid(x, n_steps, t_min, t_max)
    check_positive_int(n_corrector, "n_corrector")
    snr = check_positive(snr, "snr")
    for k in range(n_steps):
        t = t_grid[k]
        for _ in range(n_corrector):
            s = score(x, t)
            z = randn_like(x, generator=generator)
            ratio = z.norm(dim=1).mean() / s.norm(dim=1).mean().clamp_min(torch.finfo(x.dtype).tiny)
            eps = 2 * (snr * ratio) ** 2
            x = x + eps * s + (2 * eps).sqrt() * z
        z = randn_like(x, generator=generator) if k < n_steps - 1 else None
        x = _family_step(sde, score, x, t, t - t_grid[k + 1], 1.0, z)
    return SamplerOutput(x, n_steps * (1 + n_corrector))


def noise_levels(
    sde: SDE, n_levels: int, *, t_min: float = 1e-3, t_max: float = 1.0, like: Tensor | None = None
) -> Tensor:
    r"""Times $t_{\max} = t_1 > \dots > t_L = t_{\min}$ whose $\sigma_{t_i}$ are geometrically spaced (Chapter 6).

    NCSN's noise levels (Song & Ermon 2019), $\log\sigma_{t_i}$ uniform, found by bisection on the
    increasing $\sigma_t$ of the SDE.

    Args:
        sde: The forward SDE.
        n_levels: Number of levels $L \ge 2$.
        t_min: Last level $> 0$.
        t_max: First level.
        like: A tensor whose device and dtype the result takes.

    Returns:
        The times, shape ``(L,)``, decreasing.
    """
    if check_positive_int(n_levels, "n_levels") < 2:
        raise ValueError(f"n_levels must be at least 2, got {n_levels}")
    like = torch.zeros(1) if like is None else like
    grid = _grid(like.new_zeros(1, 1), n_levels - 1, t_min, t_max)
    log_sigma = sde.marginal_coefficients(grid[[0, -1]])[1].log()  # (2,)
    targets = torch.linspace(float(log_sigma[0]), float(log_sigma[1]), n_levels, dtype=grid.dtype, device=grid.device)
    lo, hi = torch.full_like(targets, t_min), torch.full_like(targets, t_max)
    for _ in range(60):  # bisection: sigma_t is increasing in t
        mid = 0.5 * (lo + hi)
        above = sde.marginal_coefficients(mid)[1].log() > targets
        hi, lo = torch.where(above, mid, hi), torch.where(above, lo, mid)
    levels = 0.5 * (lo + hi)
    levels[0], levels[-1] = t_max, t_min
    return levels


def annealed_langevin_sample(
    sde: SDE,
    score: Score,
    x: Tensor,
    *,
    n_levels: int = 10,
    n_steps_per_level: int = 100,
    step_size: float = 0.3,
    t_min: float = 1e-3,
    t_max: float = 1.0,
    generator: torch.Generator | None = None,
) -> SamplerOutput:
    r"""Annealed Langevin dynamics over decreasing noise levels (Song & Ermon 2019, Algorithm 1), Chapter 6.

    Levels $t_1 = t_{\max} > \dots > t_L = t_{\min}$ with geometrically spaced $\sigma_{t_i}$
    (:func:`noise_levels`); at each, ``n_steps_per_level`` steps of
    $x \leftarrow x + \tfrac{a_i}{2}\, s(x, t_i) + \sqrt{a_i}\, z$ with $a_i = \eta\,\sigma_{t_i}^2$,
    which is the paper's $a_i = \epsilon\,\sigma_i^2/\sigma_L^2$ with $\eta = \epsilon/\sigma_L^2$ (= ``step_size``).
    No SDE is simulated: each level only needs the score of $p_{t_i}$.

    Args:
        sde: The forward SDE (gives $\sigma_t$ of each level).
        score: ``score(x, t) -> (N, d)``.
        x: Starting points, shape ``(N, d)``.
        n_levels: Number of noise levels $L \ge 2$.
        n_steps_per_level: Langevin steps per level.
        step_size: $\eta > 0$.
        t_min: Last level $> 0$.
        t_max: First level.
        generator: Source of randomness.

    Returns:
        :class:`SamplerOutput` with samples ``(N, d)`` and ``nfe = n_levels * n_steps_per_level``.
    """
    check_positive_int(n_steps_per_level, "n_steps_per_level")
    eta = check_positive(step_size, "step_size")
    levels = noise_levels(sde, n_levels, t_min=t_min, t_max=t_max, like=x)
    for t in levels:
        a = eta * sde.marginal_coefficients(t)[1] ** 2
        for _ in range(n_steps_per_level):
            x = x + 0.5 * a * score(x, t) + a.sqrt() * randn_like(x, generator=generator)
    return SamplerOutput(x, levels.shape[0] * n_steps_per_level)
