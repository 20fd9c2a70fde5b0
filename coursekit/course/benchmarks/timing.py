"""Timing of training steps: steps per second after a warm-up, synchronising CUDA."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

__all__ = ["steps_per_second", "synchronize"]


def synchronize(device: torch.device | str) -> None:
    """Wait for the device's queued work (a no-op on CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def steps_per_second(
    step: Callable[[], object],
    *,
    device: torch.device | str = "cpu",
    warmup: int = 5,
    min_time: float = 1.0,
    min_steps: int = 10,
) -> float:
    """Run ``step()`` ``warmup`` times, then at least ``min_steps`` times and ``min_time`` seconds; return steps/s."""
    for _ in range(warmup):
        step()
    synchronize(device)
    steps, start = 0, time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < min_time:
        step()
        steps += 1
    synchronize(device)
    return steps / (time.perf_counter() - start)


def interleaved_rates(
    steps: dict[str, Callable[[], object]],
    *,
    device: torch.device | str = "cpu",
    rounds: int = 3,
    min_time: float = 0.5,
    warmup: int = 5,
) -> dict[str, float]:
    """Steps/s of several step functions, measured in alternating rounds (best round each).

    Alternating the peers round by round, and keeping each one's best round, makes a ratio fair
    on a machine whose load changes during the run.
    """
    best = {name: 0.0 for name in steps}
    for step in steps.values():
        for _ in range(warmup):
            step()
    for _ in range(rounds):
        for name, step in steps.items():
            best[name] = max(best[name], steps_per_second(step, device=device, warmup=0, min_time=min_time))
    return best


__all__ += ["interleaved_rates"]
