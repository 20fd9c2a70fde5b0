r"""Langevin dynamics: sampling a density from its score alone (Chapter 1).

The overdamped Langevin SDE $dx = \nabla\log p(x)\,dt + \sqrt2\,dW_t$ has $p$ as its stationary
density (Chapter 2 proves it with the Fokker-Planck equation). Its Euler-Maruyama discretization
with step $\varepsilon$ is the unadjusted Langevin algorithm
$$x_{k+1} = x_k + \varepsilon\,\nabla\log p(x_k) + \sqrt{2\varepsilon}\,z_k, \qquad z_k \sim \mathcal N(0, I),$$
whose bias vanishes as $\varepsilon \to 0$ (one :func:`coursekit.sde.solvers.euler_maruyama_step`
with drift $s$ and diffusion $\sqrt2$).

**The one field without time.** Langevin dynamics samples one fixed density, so its score is
``score(x)``, not the ``score(x, t)`` of the rest of the course; to run it at a fixed noise level of
a time-dependent score, pass ``lambda x: score(x, t)`` (the Langevin samplers of Chapter 6,
:mod:`coursekit.diffusion.annealed_langevin`, take ``score(x, t)`` and do this themselves).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive, check_positive_int
from coursekit.rng import randn
from coursekit.sde.solvers import euler_maruyama_step

__all__ = ["langevin_dynamics"]

StationaryScore = Callable[[Tensor], Tensor]  # score(x) -> (N, d) of one density p, no time argument


def _check_takes_x_alone(score: StationaryScore) -> None:
    """Refuse a ``score(x, t)`` with a message, instead of a bare "missing argument" from deep inside."""
    try:
        parameters = inspect.signature(score).parameters.values()
    except (TypeError, ValueError):  # builtins and some C callables have no signature: trust them
        return
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in parameters if p.kind in positional and p.default is inspect.Parameter.empty]
    if len(required) >= 2:
        raise TypeError(
            "langevin_dynamics samples one fixed density, so its score takes x alone: score(x) -> (N, d); "
            "for a time-dependent score(x, t) at a fixed time t, pass `lambda x: score(x, t)`"
        )


def langevin_dynamics(
    score: StationaryScore,
    x: Tensor,
    step_size: float,
    n_steps: int,
    *,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
) -> Tensor:
    r"""Run the unadjusted Langevin algorithm from ``x`` (Chapter 1, exercise).

    $$x_{k+1} = x_k + \varepsilon\, s(x_k) + \sqrt{2\varepsilon}\, z_k.$$

    Args:
        score: Time-independent score $s(x) = \nabla \log p(x)$, ``(N, d) -> (N, d)``: ``score(x)``,
            not ``score(x, t)`` (see the module's note).
        x: Initial points, shape ``(N, d)``.
        step_size: Step $\varepsilon > 0$.
        n_steps: Number of steps $K \ge 1$.
        generator: Source of randomness for the $z_k$.
        noise: Optional $z_k$, shape ``(K, N, d)``; given, the run is deterministic.

    Returns:
        The chain, shape ``(K+1, N, d)`` (time first), with ``chain[0] == x``.

    Raises:
        TypeError: If ``score`` needs two positional arguments, like a ``score(x, t)``.

    Example:
        >>> chain = langevin_dynamics(lambda x: -x, torch.zeros(3, 2), 0.1, 5)
        >>> chain.shape
        torch.Size([6, 3, 2])
    """
    check_points(x)
    _check_takes_x_alone(score)
    step_size = check_positive(step_size, "step_size")
    check_positive_int(n_steps, "n_steps")
    if noise is None:
        noise = randn((n_steps, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
    elif noise.shape != (n_steps, *x.shape):
        raise ValueError(f"noise must have shape (K, N, d) = {(n_steps, *x.shape)}, got {tuple(noise.shape)}")
    chain = [x]
    for k in range(n_steps):
        x = euler_maruyama_step(x, score(x), step_size, (2 * step_size) ** 0.5, noise[k])
        chain.append(x)
    return torch.stack(chain)  # (K+1, N, d)
