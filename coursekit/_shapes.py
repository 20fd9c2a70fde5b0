"""Shape and argument validation shared by every module (private).

The course's conventions (see the notation page of the book):

* samples ``x`` are batch-first, shape ``(N, d)``;
* time ``t`` is a Python float, a 0-d tensor, or a tensor of shape ``(N,)``;
* trajectories are time-first, shape ``(T+1, N, d)``.

Public functions call these helpers at their boundary so that a wrong shape raises a
``ValueError`` that names the argument and the shape it received, instead of broadcasting
silently into a wrong answer.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "as_time",
    "broadcast_time",
    "check_points",
    "check_positive",
    "check_positive_int",
    "check_time_grid",
    "time_tensor",
]


def check_points(x: Tensor, name: str = "x", dim: int | None = None) -> Tensor:
    """Check that ``x`` is a batch of points of shape ``(N, d)`` (and ``d == dim`` if given)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, d), got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(
            f"{name} must have shape (N, d) (batch first), got shape {tuple(x.shape)}"
            + (" — for a single point use x[None, :]" if x.ndim == 1 else "")
        )
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (N, {dim}), got shape {tuple(x.shape)}")
    return x


def as_time(t: float | Tensor, like: Tensor) -> Tensor:
    """Return ``t`` as a tensor on the device and dtype of ``like`` (0-d or ``(N,)``)."""
    t = torch.as_tensor(t, device=like.device, dtype=like.dtype)
    if t.ndim > 1:
        raise ValueError(f"t must be a scalar or have shape (N,), got shape {tuple(t.shape)}")
    return t


def broadcast_time(t: float | Tensor, x: Tensor) -> Tensor:
    """Reshape a time ``t`` (scalar or ``(N,)``) to broadcast against ``x`` of shape ``(N, ...)``.

    Returns a tensor of shape ``(N, 1, ..., 1)`` or ``(1, ..., 1)`` with ``x.ndim`` dimensions.
    This is the only place in the package that inserts singleton dimensions for time.
    """
    t = as_time(t, x)
    if t.ndim == 0:
        return t.reshape((1,) * x.ndim)
    if t.shape[0] != x.shape[0]:
        raise ValueError(
            f"t has shape {tuple(t.shape)} but x has {x.shape[0]} points (shape {tuple(x.shape)}); "
            "t must be a scalar or have shape (N,)"
        )
    return t.reshape((-1,) + (1,) * (x.ndim - 1))  # (N,) -> (N, 1, ..., 1)


def check_positive(value: float, name: str) -> float:
    """Check that a number is finite and strictly positive."""
    if isinstance(value, Tensor):
        value = float(value)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_positive_int(value: int, name: str) -> int:
    """Check that a count (number of steps, samples, ...) is a positive integer."""
    raw: object = value  # callers may pass anything; the type is checked here
    if isinstance(raw, bool) or not isinstance(raw, int):
        if isinstance(raw, float) and raw.is_integer():
            raise TypeError(f"{name} must be an int, got the float {value!r}; use {int(value)}")
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return value


def check_time_grid(t_grid: Tensor, name: str = "t_grid") -> Tensor:
    """Check a time grid: 1-D, at least two points, strictly monotone (either direction)."""
    if not isinstance(t_grid, Tensor):
        t_grid = torch.as_tensor(t_grid)
    if t_grid.ndim != 1 or t_grid.shape[0] < 2:
        raise ValueError(f"{name} must be a 1-D tensor of at least 2 times, got shape {tuple(t_grid.shape)}")
    dt = t_grid[1:] - t_grid[:-1]
    if not (bool((dt > 0).all()) or bool((dt < 0).all())):
        raise ValueError(f"{name} must be strictly increasing or strictly decreasing (step sizes must be non-zero)")
    return t_grid


def time_tensor(t: float | Tensor) -> Tensor:
    """Return ``t`` as a floating tensor of shape ``()`` or ``(N,)``, keeping its dtype and device."""
    t = torch.as_tensor(t)
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if t.ndim > 1:
        raise ValueError(f"t must be a scalar or have shape (N,), got shape {tuple(t.shape)}")
    return t
