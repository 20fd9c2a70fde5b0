r"""Brownian motion and its increments (Chapter 1).

A standard Brownian motion $W_t$ in $\mathbb R^d$ starts at $W_0 = 0$ and has independent
Gaussian increments $W_{t+\Delta t} - W_t \sim \mathcal N(0, \Delta t\, I)$. The increments scale
like $\sqrt{\Delta t}$, not $\Delta t$: this is why $dW$ is not a small multiple of $dt$ and why
Euler-Maruyama has strong order 1/2.
"""

from __future__ import annotations

import torch
from torch import Tensor

from coursekit._shapes import check_positive_int, check_time_grid
from coursekit.rng import randn

__all__ = ["brownian_increments", "sample_brownian_motion"]


def brownian_increments(
    t_grid: Tensor,
    n_paths: int,
    d: int,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Draw increments $\Delta W_k = W_{t_{k+1}} - W_{t_k} \sim \mathcal N(0, |t_{k+1}-t_k|\,I)$.

    Works for increasing and decreasing grids (a reverse-time solve uses $|\Delta t|$).

    Args:
        t_grid: Times $t_0, \dots, t_T$, shape ``(T+1,)``, strictly monotone.
        n_paths: Number of independent paths $N$.
        d: Dimension of the motion.
        generator: Source of randomness.

    Returns:
        Increments of shape ``(T, N, d)`` (time first), dtype and device of ``t_grid``.

    Example:
        >>> dW = brownian_increments(torch.linspace(0, 1, 11), 4, 2)
        >>> dW.shape
        torch.Size([10, 4, 2])
    """
    t_grid = check_time_grid(torch.as_tensor(t_grid))
    check_positive_int(n_paths, "n_paths")
    check_positive_int(d, "d")
    if not t_grid.is_floating_point():
        t_grid = t_grid.to(torch.get_default_dtype())
    dt = (t_grid[1:] - t_grid[:-1]).abs()  # (T,)
    z = randn((dt.shape[0], n_paths, d), generator=generator, device=t_grid.device, dtype=t_grid.dtype)
    return dt.sqrt()[:, None, None] * z  # (T,) -> (T, 1, 1) times (T, N, d)


def sample_brownian_motion(
    t_grid: Tensor,
    n_paths: int,
    d: int = 1,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Sample paths of a standard Brownian motion on a time grid (Chapter 1, exercise).

    $$W_{t_0} = 0, \qquad W_{t_{k+1}} = W_{t_k} + \sqrt{t_{k+1}-t_k}\;\varepsilon_k,
      \qquad \varepsilon_k \sim \mathcal N(0, I).$$

    Args:
        t_grid: Increasing times $0 \le t_0 < \dots < t_T$, shape ``(T+1,)``.
        n_paths: Number of paths $N$.
        d: Dimension of the motion.
        generator: Source of randomness.

    Returns:
        Paths of shape ``(T+1, N, d)`` (time first), ``W[0] = 0``.

    Example:
        >>> W = sample_brownian_motion(torch.linspace(0, 1, 5), 3, 2)
        >>> W.shape, bool((W[0] == 0).all())
        (torch.Size([5, 3, 2]), True)
    """
    dW = brownian_increments(t_grid, n_paths, d, generator=generator)  # (T, N, d)
    W0 = torch.zeros_like(dW[:1])  # (1, N, d)
    return torch.cat([W0, dW.cumsum(dim=0)], dim=0)  # (T+1, N, d)
