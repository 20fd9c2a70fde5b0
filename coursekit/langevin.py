r"""Langevin dynamics: sampling a density from its score alone (Chapter 1).

The overdamped Langevin SDE $dx = \nabla\log p(x)\,dt + \sqrt2\,dW_t$ has $p$ as its stationary
density (Chapter 2 proves it with the Fokker-Planck equation). Its Euler-Maruyama discretization
with step $\varepsilon$ is the unadjusted Langevin algorithm
$$x_{k+1} = x_k + \varepsilon\,\nabla\log p(x_k) + \sqrt{2\varepsilon}\,z_k, \qquad z_k \sim \mathcal N(0, I),$$
whose bias vanishes as $\varepsilon \to 0$.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive, check_positive_int
from coursekit.rng import randn

__all__ = ["langevin_dynamics"]


def langevin_dynamics(
    score: Callable[[Tensor], Tensor],
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
        score: Time-independent score $s(x) = \nabla \log p(x)$, ``(N, d) -> (N, d)``.
        x: Initial points, shape ``(N, d)``.
        step_size: Step $\varepsilon > 0$.
        n_steps: Number of steps $K \ge 1$.
        generator: Source of randomness for the $z_k$.
        noise: Optional $z_k$, shape ``(K, N, d)``; given, the run is deterministic.

    Returns:
        The chain, shape ``(K+1, N, d)`` (time first), with ``chain[0] == x``.

    Example:
        >>> chain = langevin_dynamics(lambda x: -x, torch.zeros(3, 2), 0.1, 5)
        >>> chain.shape
        torch.Size([6, 3, 2])
    """
    check_points(x)
    step_size = check_positive(step_size, "step_size")
    check_positive_int(n_steps, "n_steps")
    if noise is None:
        noise = randn((n_steps, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
    elif noise.shape != (n_steps, *x.shape):
        raise ValueError(f"noise must have shape (K, N, d) = {(n_steps, *x.shape)}, got {tuple(noise.shape)}")
    chain = [x]
    for k in range(n_steps):
        x = x + step_size * score(x) + (2 * step_size) ** 0.5 * noise[k]
        chain.append(x)
    return torch.stack(chain)  # (K+1, N, d)
