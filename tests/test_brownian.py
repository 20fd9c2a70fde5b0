"""Brownian motion: W_0 = 0, Var(W_t) = t, independent increments, sqrt(dt) scaling, seeds."""

import pytest
import torch

from coursekit.sde.brownian import brownian_increments, sample_brownian_motion


def test_variance_equals_time_on_uneven_grid(gen):
    t = torch.linspace(0, 2, 7, dtype=torch.float64) ** 2 / 2
    n = 50_000
    W = sample_brownian_motion(t, n, 1, generator=gen)[:, :, 0]
    assert torch.all(W[0] == 0)
    se = t[1:] * (2 / n) ** 0.5
    assert torch.all((W[1:].var(dim=1) - t[1:]).abs() < 4 * se)


def test_increments_independent_and_scaled(gen):
    t = torch.tensor([0.0, 0.01, 0.5, 0.51], dtype=torch.float64)
    dW = brownian_increments(t, 50_000, 1, generator=gen)[:, :, 0]
    torch.testing.assert_close(dW.var(dim=1), torch.tensor([0.01, 0.49, 0.01], dtype=torch.float64), rtol=0.03, atol=0)
    corr = torch.corrcoef(dW)
    assert (corr - torch.eye(3, dtype=torch.float64)).abs().max() < 0.02


def test_quadratic_variation_converges_to_t(gen):
    """sum (dW)^2 -> t while sum |dW| grows like 1/sqrt(dt): the sqrt(dt) scaling."""
    for steps in (100, 10_000):
        dW = brownian_increments(torch.linspace(0, 1, steps + 1, dtype=torch.float64), 1, 1, generator=gen)
        assert (dW**2).sum().item() == pytest.approx(1.0, abs=6 * (2 / steps) ** 0.5)
    assert dW.abs().sum().item() > 50  # about sqrt(2 / pi) * sqrt(10_000) = 80


def test_reproducible_and_shapes():
    t = torch.linspace(0, 1, 4)
    a = sample_brownian_motion(t, 2, 3, generator=torch.Generator().manual_seed(5))
    b = sample_brownian_motion(t, 2, 3, generator=torch.Generator().manual_seed(5))
    assert a.shape == (4, 2, 3) and torch.equal(a, b)


def test_bad_input():
    with pytest.raises(ValueError, match="n_paths"):
        sample_brownian_motion(torch.linspace(0, 1, 3), 0)
    with pytest.raises(TypeError, match="n_paths"):
        sample_brownian_motion(torch.linspace(0, 1, 3), 2.0)
    with pytest.raises(ValueError, match="strictly"):
        sample_brownian_motion(torch.tensor([0.0, 1.0, 0.5]), 2)
