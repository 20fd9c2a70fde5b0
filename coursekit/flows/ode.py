r"""ODEs $\frac{dx}{dt} = v(x, t)$: Euler's method and the one adapter around torchdiffeq (Chapters 1, 3-6).

The course writes every vector field as ``velocity(x, t)``; torchdiffeq calls ``func(t, x)``.
:func:`integrate` is the only place that swaps the arguments. It also counts function
evaluations (NFE), the cost measure of every sampler in the course.

:class:`Solution` is the one result type of every ODE solve and every sampler of the course
(:func:`integrate` here, the diffusion samplers, flow-matching sampling): the samples, the NFE,
the trajectory and its time grid, with ``trajectory[k]`` the state at ``t_grid[k]``.
Solves build no autograd graph unless asked with ``enable_grad=True`` (training through a solve,
as maximum-likelihood CNF training does, asks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torchdiffeq import odeint

from coursekit._choices import check_choice
from coursekit._shapes import check_points, check_time_grid

__all__ = ["ODESolution", "Solution", "euler", "integrate"]

Velocity = Callable[[Tensor, Tensor], Tensor]

_FIXED_STEP = ("euler", "midpoint", "rk4", "explicit_adams", "implicit_adams")
_ADAPTIVE = ("dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun")


def euler(velocity: Velocity, x: Tensor, t_grid: Tensor, *, enable_grad: bool = False) -> Tensor:
    r"""Explicit Euler $x_{k+1} = x_k + \Delta t_k\, v(x_k, t_k)$, first order (Chapter 1).

    Args:
        velocity: $v(x, t)$, ``(N, d), () -> (N, d)``.
        x: Initial points, shape ``(N, d)``.
        t_grid: Times, shape ``(T+1,)``, strictly monotone (backward in time is allowed).
        enable_grad: Build the autograd graph through the steps (off by default).

    Returns:
        The trajectory, shape ``(T+1, N, d)``.

    Example:
        >>> euler(lambda x, t: -x, torch.ones(1, 1), torch.linspace(0, 1, 3))[:, 0, 0]
        tensor([1.0000, 0.5000, 0.2500])
    """
    check_points(x)
    t_grid = check_time_grid(torch.as_tensor(t_grid)).to(device=x.device, dtype=x.dtype)
    trajectory = [x]
    with torch.set_grad_enabled(enable_grad):
        for k in range(t_grid.shape[0] - 1):
            x = x + (t_grid[k + 1] - t_grid[k]) * velocity(x, t_grid[k])
            trajectory.append(x)
        return torch.stack(trajectory)  # (T+1, N, d)


euler.order = 1  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Solution:
    """Result of an ODE solve or a sampler: the one output type of the course (Chapters 1-9).

    Attributes:
        samples: The final states, shape ``(N, d)`` (``trajectory[-1]`` when a trajectory is kept).
        nfe: Number of evaluations of the velocity or score (the cost of the solve).
        trajectory: States on the time grid, shape ``(T+1, N, d)`` (time first), or ``None`` when
            a sampler was not asked to keep them.
        t_grid: The times of ``trajectory`` (or the sampler's grid), shape ``(T+1,)``; ``None``
            where a sampler has no grid.
    """

    samples: Tensor
    nfe: int
    trajectory: Tensor | None = None
    t_grid: Tensor | None = None


ODESolution = Solution  # the name of the result of integrate before the samplers shared it


def integrate(
    velocity: Velocity,
    x: Tensor,
    t_grid: Tensor,
    *,
    method: str = "dopri5",
    rtol: float = 1e-5,
    atol: float = 1e-5,
    step_size: float | None = None,
    enable_grad: bool = False,
) -> Solution:
    r"""Solve $\dot x = v(x, t)$ with torchdiffeq and count function evaluations.

    Args:
        velocity: $v(x, t)$ in the course's ``(x, t)`` order, ``(N, d), () -> (N, d)``.
        x: Initial points at ``t_grid[0]``, shape ``(N, d)``.
        t_grid: Output times, shape ``(T+1,)``, strictly monotone (either direction).
        method: A torchdiffeq method: adaptive ``"dopri5"`` (default), ``"bosh3"``, ... or
            fixed-step ``"euler"``, ``"midpoint"``, ``"rk4"``.
        rtol: Relative tolerance (adaptive methods).
        atol: Absolute tolerance (adaptive methods).
        step_size: Step of a fixed-step method; default: the spacing of ``t_grid``.
        enable_grad: Build the autograd graph through the solve, to train through it (off by
            default: a solve for sampling or evaluation needs no gradients).

    Returns:
        :class:`Solution` with the samples ``trajectory[-1]`` ``(N, d)``, the NFE, the trajectory
        ``(T+1, N, d)`` and ``t_grid``.

    The velocity is only ever called with times inside ``[min(t_grid), max(t_grid)]``: adaptive
    steps end exactly at the output times, and the time that torchdiffeq's first-step heuristic
    probes is clamped into the span.

    Example:
        >>> sol = integrate(lambda x, t: -x, torch.ones(1, 1), torch.tensor([0.0, 1.0]))
        >>> round(float(sol.trajectory[-1, 0, 0]), 4)
        0.3679
    """
    check_points(x)
    t_grid = check_time_grid(torch.as_tensor(t_grid)).to(device=x.device, dtype=x.dtype)
    check_choice(method, _FIXED_STEP + _ADAPTIVE, "ODE method")
    nfe = 0
    t_lo, t_hi = t_grid.min(), t_grid.max()

    def func(t: Tensor, state: Tensor) -> Tensor:  # torchdiffeq's (t, x) order, here only
        nonlocal nfe
        nfe += 1
        # The first-step heuristic of adaptive solvers probes a time that may lie outside the span,
        # where schedules and scores can be undefined (t < 0); clamping it only affects that guess.
        return velocity(state, t.clamp(t_lo, t_hi))

    options: dict[str, Tensor | float] | None
    if method in _ADAPTIVE:
        # step exactly to every output time, so that no step reaches past the last one
        options = {"step_t": t_grid}
    else:
        options = {"step_size": step_size} if step_size is not None else None
    with torch.set_grad_enabled(enable_grad):
        trajectory = odeint(func, x, t_grid, method=method, rtol=rtol, atol=atol, options=options)
    return Solution(samples=trajectory[-1], nfe=nfe, trajectory=trajectory, t_grid=t_grid)
