r"""Samplers that take Langevin steps at fixed noise levels (Chapter 6).

At a fixed time $t$ the score $s(x, t) \approx \nabla\log p_t(x)$ is all that Langevin dynamics needs to
sample $p_t$ (Chapter 1): $x \leftarrow x + \varepsilon\, s(x, t) + \sqrt{2\varepsilon}\, z$. Two samplers
build on that. *Annealed Langevin dynamics* (Song & Ermon 2019) runs such steps at a decreasing
sequence of noise levels and simulates no SDE. The *predictor-corrector* sampler (Song et al. 2021)
alternates Langevin steps at the current level (the corrector), which pull the points back towards
$p_t$ and so correct the discretization error of the previous step, with a reverse-SDE step to the
next level (:func:`coursekit.diffusion.samplers.reverse_sde_step`, the predictor). Every step, Langevin
or predictor, is one :func:`coursekit.sde.solvers.euler_maruyama_step`; the samplers build no
autograd graph unless asked with ``enable_grad=True``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive, check_positive_int
from coursekit.diffusion.samplers import SamplerOutput, Score, reverse_sde_step
from coursekit.rng import randn_like
from coursekit.sde.processes import SDE
from coursekit.sde.solvers import euler_maruyama_step
from coursekit.sde.time_grids import sampling_grid

__all__ = ["annealed_langevin_sample", "noise_levels", "predictor_corrector_sample"]


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
    return_trajectory: bool = False,
    enable_grad: bool = False,
) -> SamplerOutput:
    r"""Predictor-corrector sampling (Song et al. 2021): Langevin corrector, reverse-SDE predictor.

    The corrector comes first at each level, as in the authors' code (``pc_sampler`` of score_sde);
    the paper's Algorithm 1 writes the predictor first. The two orders differ only at the ends.

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
        return_trajectory: Also return the states after each predictor step, shape ``(n_steps + 1, N, d)``.
        enable_grad: Build the autograd graph through the steps (off by default).

    Returns:
        :class:`SamplerOutput` with samples ``(N, d)``, ``nfe = n_steps * (1 + n_corrector)`` and the
        grid ``(n_steps + 1,)``.
    """
    check_points(x)
    t_grid = sampling_grid(n_steps, t_min=t_min, t_max=t_max, like=x)
    check_positive_int(n_corrector, "n_corrector")
    snr = check_positive(snr, "snr")
    steps = (t_grid[:-1] - t_grid[1:]).tolist()  # the step sizes as floats, in one transfer (not one a step)
    states = [x]
    with torch.set_grad_enabled(enable_grad):
        for k in range(n_steps):
            t = t_grid[k]
            for _ in range(n_corrector):
                s = score(x, t)
                z = randn_like(x, generator=generator)
                ratio = z.norm(dim=1).mean() / s.norm(dim=1).mean().clamp_min(torch.finfo(x.dtype).tiny)
                eps = 2 * (snr * ratio) ** 2
                x = euler_maruyama_step(x, s, eps, (2 * eps).sqrt(), z)  # Langevin: x + eps s + sqrt(2 eps) z
            z = randn_like(x, generator=generator) if k < n_steps - 1 else torch.zeros_like(x)  # last step noise-free
            x = reverse_sde_step(sde, score, x, t, steps[k], noise=z)
            if return_trajectory:
                states.append(x)
        trajectory = torch.stack(states) if return_trajectory else None
    return SamplerOutput(x, n_steps * (1 + n_corrector), trajectory, t_grid)


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
    grid = sampling_grid(n_levels - 1, t_min=t_min, t_max=t_max, like=torch.zeros(1) if like is None else like)
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
    return_trajectory: bool = False,
    enable_grad: bool = False,
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
        return_trajectory: Also return the state at the end of each level, shape ``(L, N, d)``
            (``trajectory[i]`` samples $p_{t_i}$, the level ``t_grid[i]``).
        enable_grad: Build the autograd graph through the steps (off by default).

    Returns:
        :class:`SamplerOutput` with samples ``(N, d)``, ``nfe = n_levels * n_steps_per_level`` and the
        levels as ``t_grid`` ``(L,)``.
    """
    check_points(x)
    check_positive_int(n_steps_per_level, "n_steps_per_level")
    eta = check_positive(step_size, "step_size")
    levels = noise_levels(sde, n_levels, t_min=t_min, t_max=t_max, like=x)
    states = []
    with torch.set_grad_enabled(enable_grad):
        for t in levels:
            a = eta * sde.marginal_coefficients(t)[1] ** 2
            for _ in range(n_steps_per_level):  # Langevin at level t: x + (a/2) s + sqrt(a) z
                x = euler_maruyama_step(x, score(x, t), 0.5 * a, a.sqrt(), randn_like(x, generator=generator))
            if return_trajectory:
                states.append(x)
        trajectory = torch.stack(states) if return_trajectory else None
    return SamplerOutput(x, levels.shape[0] * n_steps_per_level, trajectory, levels)
