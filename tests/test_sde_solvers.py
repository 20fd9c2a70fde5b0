"""Euler-Maruyama: strong order 1/2 (multiplicative noise) and 1 (additive), weak order 1, as fitted slopes."""

import math

import pytest
import torch

from conftest import fitted_slope
from coursekit.brownian import brownian_increments
from coursekit.sde import GeometricBrownianMotion, OrnsteinUhlenbeck, VPSDE
from coursekit.sde_solvers import euler_maruyama, simulate

FINE = 2**10  # steps of the finest grid
LEVELS = [2**k for k in range(2, 8)]  # coarse step counts: h = 1/4 ... 1/128


def _coarsen(dW: torch.Tensor, steps: int) -> torch.Tensor:
    """Sum fine increments (FINE, N, d) into `steps` coarse ones: the same Brownian path."""
    return dW.reshape(steps, FINE // steps, *dW.shape[1:]).sum(dim=1)


def test_strong_order_one_half_on_geometric_brownian_motion():
    gen = torch.Generator().manual_seed(0)
    sde, n = GeometricBrownianMotion(mu=2.0, sigma=1.0), 4000  # Higham (2001)'s example
    x0 = torch.ones(n, 1, dtype=torch.float64)
    t_fine = torch.linspace(0, 1, FINE + 1, dtype=torch.float64)
    dW = brownian_increments(t_fine, n, 1, generator=gen)
    W = torch.cat([torch.zeros_like(dW[:1]), dW.cumsum(0)])
    exact = sde.solution(x0, W, t_fine)[-1]
    errors = []
    for steps in LEVELS:
        t_grid = torch.linspace(0, 1, steps + 1, dtype=torch.float64)
        x_end = euler_maruyama(sde, x0, t_grid, dW=_coarsen(dW, steps))[-1]
        errors.append((x_end - exact).abs().mean().item())
    order = fitted_slope([1 / s for s in LEVELS], errors)
    assert euler_maruyama.strong_order == 0.5
    assert abs(order - 0.5) < 0.2, f"strong order {order:.2f}"


def test_strong_order_one_on_additive_noise():
    gen = torch.Generator().manual_seed(1)
    sde, n = OrnsteinUhlenbeck(theta=2.0, sigma=1.0), 2000
    x0 = torch.ones(n, 1, dtype=torch.float64)
    t_fine = torch.linspace(0, 1, FINE * 4 + 1, dtype=torch.float64)
    dW_ref = brownian_increments(t_fine, n, 1, generator=gen)
    reference = euler_maruyama(sde, x0, t_fine, dW=dW_ref)[-1]  # h = 1/4096 stands in for the exact path
    dW = dW_ref.reshape(FINE, 4, n, 1).sum(1)
    errors = []
    for steps in LEVELS:
        t_grid = torch.linspace(0, 1, steps + 1, dtype=torch.float64)
        x_end = euler_maruyama(sde, x0, t_grid, dW=_coarsen(dW, steps))[-1]
        errors.append((x_end - reference).abs().mean().item())
    order = fitted_slope([1 / s for s in LEVELS], errors)
    assert abs(order - 1.0) < 0.2, f"strong order with additive noise {order:.2f}"


def test_weak_order_one():
    """|E[X_T^h] - E[X_T]| = O(h) for GBM, whose mean x0 e^{mu T} is known."""
    gen = torch.Generator().manual_seed(2)
    sde, n = GeometricBrownianMotion(mu=1.0, sigma=0.5), 400_000
    x0 = torch.ones(n, 1, dtype=torch.float64)
    steps_list = [2, 4, 8, 16]
    t_fine = torch.linspace(0, 1, 17, dtype=torch.float64)
    dW = brownian_increments(t_fine, n, 1, generator=gen)  # common random numbers across h
    errors = []
    for steps in steps_list:
        t_grid = torch.linspace(0, 1, steps + 1, dtype=torch.float64)
        coarse = dW.reshape(steps, 16 // steps, n, 1).sum(1)
        mean = euler_maruyama(sde, x0, t_grid, dW=coarse)[-1].mean().item()
        errors.append(abs(mean - math.e))
    order = fitted_slope([1 / s for s in steps_list], errors)
    assert euler_maruyama.weak_order == 1.0
    assert abs(order - 1.0) < 0.2, f"weak order {order:.2f}"


def test_backward_in_time_uses_absolute_step(gen):
    x = torch.zeros(20_000, 1, dtype=torch.float64)
    from coursekit.sde import BrownianMotion

    end = euler_maruyama(BrownianMotion(), x, torch.linspace(1, 0, 11, dtype=torch.float64), generator=gen)[-1]
    assert end.var().item() == pytest.approx(1.0, rel=0.05)


def test_reproducible_and_global_rng_untouched():
    state = torch.get_rng_state()
    a = euler_maruyama(VPSDE(), torch.zeros(4, 2), torch.linspace(0, 1, 5), generator=torch.Generator().manual_seed(3))
    b = euler_maruyama(VPSDE(), torch.zeros(4, 2), torch.linspace(0, 1, 5), generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert torch.equal(state, torch.get_rng_state())


def test_dtype_and_shape_follow_input(gen):
    out = euler_maruyama(VPSDE(), torch.zeros(3, 5, dtype=torch.float64), torch.linspace(0, 1, 4), generator=gen)
    assert out.shape == (4, 3, 5) and out.dtype == torch.float64


def test_bad_input(gen):
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="at least 2 times"):
        euler_maruyama(VPSDE(), x, torch.tensor([0.0]))
    with pytest.raises(ValueError, match="strictly"):
        euler_maruyama(VPSDE(), x, torch.tensor([0.0, 0.5, 0.5, 1.0]))
    with pytest.raises(ValueError, match="dW must have shape"):
        euler_maruyama(VPSDE(), x, torch.linspace(0, 1, 3), dW=torch.zeros(3, 3, 2))
    with pytest.raises(ValueError, match=r"shape \(N, d\)"):
        euler_maruyama(VPSDE(), torch.zeros(3), torch.linspace(0, 1, 3))
    with pytest.raises(ValueError, match="unknown SDE method 'euler'.*euler_maruyama"):
        simulate(VPSDE(), x, torch.linspace(0, 1, 3), method="euler")
