"""ODE: Euler is first order; the torchdiffeq adapter solves exactly-known problems and counts NFE."""

import math

import pytest
import torch

from coursekit.flows.ode import euler, integrate
from coursekit.sde.convergence import fitted_order as fitted_slope

A = torch.tensor([[-0.5, -2.0], [2.0, -0.5]], dtype=torch.float64)  # spiral sink


def velocity(x, t):
    return x @ A.T


def exact(x0, t):
    return x0 @ torch.linalg.matrix_exp(A * t).T


def test_euler_first_order():
    x0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    steps = [10, 20, 40, 80, 160]
    errors = [
        (euler(velocity, x0, torch.linspace(0, 1, n + 1, dtype=torch.float64))[-1] - exact(x0, 1.0)).norm().item()
        for n in steps
    ]
    assert abs(fitted_slope([1 / n for n in steps], errors) - euler.order) < 0.2


@pytest.mark.parametrize("method, order", [("midpoint", 2), ("rk4", 4)])
def test_fixed_step_orders(method, order):
    x0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    steps = [8, 16, 32, 64]
    errors = []
    for n in steps:
        sol = integrate(velocity, x0, torch.linspace(0, 1, n + 1, dtype=torch.float64), method=method)
        errors.append((sol.trajectory[-1] - exact(x0, 1.0)).norm().item())
    assert abs(fitted_slope([1 / n for n in steps], errors) - order) < 0.3


def test_adaptive_forward_and_backward():
    x0 = torch.randn(5, 2, dtype=torch.float64)
    t = torch.linspace(0, 1, 4, dtype=torch.float64)
    sol = integrate(velocity, x0, t, rtol=1e-9, atol=1e-9)
    for k in range(4):
        torch.testing.assert_close(sol.trajectory[k], exact(x0, t[k].item()), rtol=1e-7, atol=1e-7)
    back = integrate(velocity, sol.trajectory[-1], t.flip(0), rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(back.trajectory[-1], x0, rtol=1e-6, atol=1e-6)
    assert sol.nfe > 10


def test_nfe_counts_calls_of_fixed_step():
    sol = integrate(lambda x, t: -x, torch.ones(1, 1), torch.linspace(0, 1, 11), method="euler")
    assert sol.nfe == 10
    assert sol.trajectory[-1].item() == pytest.approx(0.9**10, rel=1e-5)
    assert math.isclose(integrate(lambda x, t: -x, torch.ones(1, 1), torch.linspace(0, 1, 3), method="rk4").nfe, 8)


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown ODE method 'rk45'"):
        integrate(lambda x, t: x, torch.ones(1, 1), torch.linspace(0, 1, 3), method="rk45")
