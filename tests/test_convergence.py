"""Convergence helpers: the fitted order recovers known slopes; errors shrink; bad input is named."""

import pytest
import torch

from coursekit.sde import GeometricBrownianMotion
from coursekit.sde.convergence import fitted_order, strong_errors
from coursekit.sde.solvers import euler_maruyama


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 4.0])
def test_fitted_order_recovers_power_laws(p):
    h = torch.tensor([0.1, 0.05, 0.02, 0.01])
    assert fitted_order(h, 3.0 * h**p) == pytest.approx(p)


def test_strong_error_vanishes_on_the_finest_grid():
    sde = GeometricBrownianMotion(0.5, 0.3)
    errors = strong_errors(
        euler_maruyama, sde, torch.ones(50, 1), [8, 64], fine_steps=64, generator=torch.Generator().manual_seed(0)
    )
    assert errors[1].item() == 0.0 and errors[0].item() > 0


def test_bad_input():
    with pytest.raises(ValueError, match="positive"):
        fitted_order([0.1, 0.01], [0.0, 1.0])
    with pytest.raises(ValueError, match="equal length"):
        fitted_order([0.1, 0.01], [1.0])
    with pytest.raises(ValueError, match="multiple"):
        strong_errors(euler_maruyama, GeometricBrownianMotion(), torch.ones(3, 1), [3], fine_steps=64)
