"""Euler-Maruyama: strong order 1/2 (multiplicative noise) and 1 (additive), weak order 1, as fitted slopes."""

import math

import pytest
import torch

from coursekit.sde import VPSDE, GeometricBrownianMotion, OrnsteinUhlenbeck
from coursekit.sde.convergence import fitted_order, strong_errors, weak_errors
from coursekit.sde.solvers import euler_maruyama, simulate

LEVELS = [4, 8, 16, 32, 64, 128]  # coarse step counts: h = 1/4 ... 1/128
H = [1 / n for n in LEVELS]


def test_strong_order_one_half_on_geometric_brownian_motion():
    """Higham (2001)'s example: GBM with mu = 2, sigma = 1, against its exact pathwise solution."""
    sde = GeometricBrownianMotion(mu=2.0, sigma=1.0)
    errors = strong_errors(
        euler_maruyama,
        sde,
        torch.ones(4000, 1),
        LEVELS,
        fine_steps=1024,
        exact=sde.solution,
        generator=torch.Generator().manual_seed(0),
    )
    assert euler_maruyama.strong_order == 0.5
    assert abs(fitted_order(H, errors) - 0.5) < 0.2, f"strong order {fitted_order(H, errors):.2f}"


def test_strong_order_one_on_additive_noise():
    """Additive noise: the Ito-Taylor term G G' vanishes and Euler-Maruyama gains a half order."""
    errors = strong_errors(
        euler_maruyama,
        OrnsteinUhlenbeck(theta=2.0, sigma=1.0),
        torch.ones(2000, 1),
        LEVELS,
        fine_steps=4096,
        generator=torch.Generator().manual_seed(1),
    )
    assert abs(fitted_order(H, errors) - 1.0) < 0.2, f"strong order {fitted_order(H, errors):.2f}"


def test_weak_order_one():
    """|E[X_T^h] - E[X_T]| = O(h) for GBM, whose mean x0 e^{mu T} is known."""
    steps = [4, 8, 16, 32, 64]
    errors = weak_errors(
        euler_maruyama,
        GeometricBrownianMotion(mu=1.0, sigma=0.5),
        torch.ones(200_000, 1),
        steps,
        math.e,
        generator=torch.Generator().manual_seed(2),
    )
    order = fitted_order([1 / n for n in steps], errors)
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


def test_one_step_implementation_for_the_solver_and_the_samplers():
    """euler_maruyama is euler_maruyama_step in a loop; the reverse-SDE step is the same step with -dt."""
    from coursekit.diffusion.samplers import reverse_sde_step
    from coursekit.sde.solvers import euler_maruyama_step

    g = torch.Generator().manual_seed(3)
    sde, x = OrnsteinUhlenbeck(0.7, 0.5), torch.randn(5, 2, generator=g, dtype=torch.float64)
    t_grid = torch.tensor([0.0, 0.2, 0.5], dtype=torch.float64)
    dW = torch.randn(2, 5, 2, generator=g, dtype=torch.float64)
    by_hand = x
    for k in range(2):
        by_hand = euler_maruyama_step(
            by_hand,
            sde.drift(by_hand, t_grid[k]),
            t_grid[k + 1] - t_grid[k],
            sde.diffusion_term(by_hand, t_grid[k]),
            dW[k],
        )
    assert torch.equal(euler_maruyama(sde, x, t_grid, dW=dW)[-1], by_hand)
    # x + f dt + G dW, and a drift-only step without noise
    f, G = torch.full((5, 2), 2.0, dtype=torch.float64), 3.0
    torch.testing.assert_close(euler_maruyama_step(x, f, 0.1, G, dW[0]), x + 0.2 + 3.0 * dW[0])
    torch.testing.assert_close(euler_maruyama_step(x, f, -0.1), x - 0.2)
    with pytest.raises(ValueError, match="dW"):
        euler_maruyama_step(x, f, 0.1, G)
    # the reverse-SDE step: drift f - g^2 s integrated with -dt, noise g sqrt(dt) z
    score = lambda y, t: -y  # noqa: E731
    z, t, dt = dW[1], torch.tensor(0.4, dtype=torch.float64), 0.05
    drift = sde.drift(x, t) - sde.diffusion(t) ** 2 * score(x, t)
    torch.testing.assert_close(
        reverse_sde_step(sde, score, x, t, dt, noise=z),
        euler_maruyama_step(x, drift, -dt, sde.diffusion(t) * dt**0.5, z),
    )
