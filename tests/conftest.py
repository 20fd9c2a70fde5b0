"""Shared fixtures: explicit generators, float64 where numerics are tested, the repository root."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def gen() -> torch.Generator:
    """A fresh CPU generator seeded with 0."""
    return torch.Generator().manual_seed(0)


@pytest.fixture
def root() -> Path:
    """The repository root."""
    return ROOT


def fitted_slope(h: list[float] | torch.Tensor, error: list[float] | torch.Tensor) -> float:
    """Least-squares slope of log(error) against log(h): the observed convergence order."""
    log_h = torch.log(torch.as_tensor(h, dtype=torch.float64))
    log_e = torch.log(torch.as_tensor(error, dtype=torch.float64))
    log_h, log_e = log_h - log_h.mean(), log_e - log_e.mean()
    return float((log_h * log_e).sum() / (log_h**2).sum())
