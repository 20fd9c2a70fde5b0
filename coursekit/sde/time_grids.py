r"""Time grids: the one place that turns ``n_steps`` into times (Chapters 1-6).

Everywhere in the course ``n_steps`` is the number of steps, and a grid of ``n_steps`` steps has
``n_steps + 1`` points $t_0, \dots, t_{n}$, both ends included. Solves run forward
($t_0 < t_n$, noising) or backward ($t_0 > t_n$, generation from noise at $t = 1$).
"""

from __future__ import annotations

import torch
from torch import Tensor

from coursekit._shapes import check_positive, check_positive_int

__all__ = ["sampling_grid", "uniform_grid"]


def uniform_grid(
    t_start: float,
    t_end: float,
    n_steps: int,
    *,
    like: Tensor | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    r"""Uniform grid $t_k = t_{\text{start}} + \tfrac{k}{n}(t_{\text{end}} - t_{\text{start}})$, $k = 0, \dots, n$.

    Args:
        t_start: First time $t_0$.
        t_end: Last time $t_n \ne t_0$ (smaller than ``t_start`` for a backward solve).
        n_steps: Number of steps $n \ge 1$.
        like: A tensor whose device and dtype the grid takes (overrides ``device`` and ``dtype``).
        device: Device of the grid.
        dtype: Floating dtype of the grid (default: torch's default dtype).

    Returns:
        The times, shape ``(n_steps + 1,)``, from ``t_start`` to ``t_end`` (both included).

    Example:
        >>> uniform_grid(1.0, 0.0, 4)
        tensor([1.0000, 0.7500, 0.5000, 0.2500, 0.0000])
    """
    check_positive_int(n_steps, "n_steps")
    if float(t_start) == float(t_end):
        raise ValueError(f"the grid needs t_start != t_end, got {t_start} twice")
    if like is not None:
        device, dtype = like.device, like.dtype
    return torch.linspace(t_start, t_end, n_steps + 1, device=device, dtype=dtype)


def sampling_grid(n_steps: int, *, t_min: float, t_max: float, like: Tensor | None = None) -> Tensor:
    r"""The decreasing grid of a sampler, from $t_{\max}$ (noise) down to $t_{\min} > 0$ (Chapter 6).

    The score blows up at $t = 0$, so samplers stop at a small $t_{\min}$; the schedules are defined
    up to $t = 1$, so $t_{\max} \le 1$.

    Args:
        n_steps: Number of steps $n \ge 1$.
        t_min: Final time, $0 < t_{\min} < t_{\max}$.
        t_max: Starting time, $\le 1$.
        like: A tensor whose device and dtype the grid takes.

    Returns:
        The times $t_{\max} = t_0 > \dots > t_n = t_{\min}$, shape ``(n_steps + 1,)``.

    Example:
        >>> sampling_grid(2, t_min=0.5, t_max=1.0)
        tensor([1.0000, 0.7500, 0.5000])
    """
    check_positive_int(n_steps, "n_steps")
    check_positive(t_min, "t_min")
    if not t_min < t_max <= 1:
        raise ValueError(f"need 0 < t_min < t_max <= 1, got t_min={t_min}, t_max={t_max}")
    return uniform_grid(t_max, t_min, n_steps, like=like)
