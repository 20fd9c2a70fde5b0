"""Checks of the Chapter 9 (the families compared) exercise."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from coursekit.course.exercises import Check, CheckFailed, generator, register
from coursekit.flows.path_metrics import normalized_path_energy

__all__: list[str] = []

CHAPTER = "09_comparison"
F64 = torch.float64


def _value(fn: Callable, trajectory: torch.Tensor, t_grid: torch.Tensor, what: str) -> float:
    out = fn(trajectory, t_grid)
    try:
        value = float(out)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what}: return a number (a float), got {type(out).__name__}") from None
    if not math.isfinite(value):
        raise CheckFailed(f"{what}: got {value}")
    return value


def _straight_is_one(fn: Callable) -> None:
    g = generator(90)
    start, end = torch.randn(30, 2, generator=g, dtype=F64), torch.randn(30, 2, generator=g, dtype=F64)
    t = torch.linspace(0, 1, 11, dtype=F64)
    trajectory = start + t[:, None, None] * (end - start)  # straight lines at constant speed, (11, 30, 2)
    value = _value(fn, trajectory, t, "straight constant-speed paths")
    if abs(value - 1) > 1e-9:
        raise CheckFailed(f"straight paths at constant speed must give exactly 1, got {value:.6g}")
    backwards = _value(fn, trajectory.flip(0), t.flip(0), "the same paths with time running from 1 to 0")
    if abs(backwards - 1) > 1e-9:
        raise CheckFailed(f"time may run backwards (generation goes from t = 1 to 0): use |dt|; got {backwards:.6g}")


def _matches_library(fn: Callable) -> None:
    g = generator(91)
    trajectory = torch.randn(9, 40, 3, generator=g, dtype=F64).cumsum(0)  # wiggly paths
    t = torch.sort(torch.rand(9, generator=g, dtype=F64)).values
    expected = normalized_path_energy(trajectory, t)
    value = _value(fn, trajectory, t, "random paths on a non-uniform grid")
    if abs(value - expected) > 1e-9 * expected:
        uniform = normalized_path_energy(trajectory, torch.linspace(float(t[0]), float(t[-1]), 9, dtype=F64))
        hint = " (did you assume equal time steps?)" if abs(value - uniform) < 1e-9 * uniform else ""
        raise CheckFailed(f"random paths on a non-uniform time grid: expected {expected:.6g}, got {value:.6g}{hint}")
    if value < 1:
        raise CheckFailed("the ratio is at least 1 (Cauchy-Schwarz): check the normalisation")


register(
    "path_metrics.normalized_path_energy",
    normalized_path_energy,
    CHAPTER,
    [
        Check("straight constant-speed paths give 1, in either time direction", _straight_is_one),
        Check("matches the library on curved paths and uneven steps", _matches_library),
    ],
)
