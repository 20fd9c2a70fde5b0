"""Reverse-time SDE and probability-flow ODE: marginals preserved, noise turned back into the data."""

import math

import pytest
import torch

from coursekit import metrics
from coursekit.data import shapes
from coursekit.density.point_cloud import noised_point_cloud_score, point_cloud_log_prob, point_cloud_score
from coursekit.density.reverse_time import (
    ReverseSDE,
    probability_flow_drift,
    probability_flow_velocity,
    reverse_sde_drift,
)
from coursekit.flows import ode
from coursekit.sde import VPSDE, OrnsteinUhlenbeck
from coursekit.sde.solvers import euler_maruyama


def gaussian_score(sde, mean0, var0):
    """Exact score of p_t for the SDE started from N(mean0, var0)."""

    def score(x, t):
        alpha, sigma = sde.marginal_coefficients(torch.as_tensor(t, dtype=x.dtype))
        return -(x - alpha * mean0) / (alpha**2 * var0 + sigma**2)

    return score


def test_probability_flow_ode_keeps_the_marginals():
    sde, mean0, var0 = OrnsteinUhlenbeck(1.0, 1.5), 2.0, 0.25
    x0 = mean0 + math.sqrt(var0) * torch.randn(
        20_000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    sol = ode.integrate(
        probability_flow_velocity(sde, gaussian_score(sde, mean0, var0)),
        x0,
        torch.tensor([0.0, 1.0], dtype=torch.float64),
    )
    alpha, sigma = sde.marginal_coefficients(torch.tensor(1.0, dtype=torch.float64))
    x1 = sol.trajectory[-1]
    # the flow is the affine map x -> m_1 + (s_1 / s_0)(x - m_0) between the Gaussian marginals
    m1, s1 = alpha * mean0, torch.sqrt(alpha**2 * var0 + sigma**2)
    torch.testing.assert_close(x1, m1 + s1 / math.sqrt(var0) * (x0 - mean0), rtol=1e-4, atol=1e-4)


def test_drifts_by_hand():
    sde, x, t = VPSDE(), torch.ones(3, 2), torch.tensor(0.5)

    def score(y, s):
        return -y

    beta = sde.beta(t)
    torch.testing.assert_close(probability_flow_drift(sde, score, x, t), (-0.5 * beta + 0.5 * beta) * x)
    torch.testing.assert_close(reverse_sde_drift(sde, score, x, t), (-0.5 * beta + beta) * x)
    assert ReverseSDE(sde, score).drift(x, t).shape == (3, 2)


def test_reverse_sde_returns_the_cloud():
    """Reverse SDE with the exact score: W2 to the cloud within 1.2x the W2 between two resamples of the cloud."""
    cloud = shapes.smiley(400)
    vp = VPSDE()
    gen = torch.Generator().manual_seed(1)
    noise = torch.randn(400, 2, generator=gen)
    samples = euler_maruyama(
        ReverseSDE(vp, noised_point_cloud_score(cloud, vp)), noise, torch.linspace(1, 1e-3, 401), generator=gen
    )[-1]
    floors = [
        metrics.wasserstein2(
            cloud[torch.randint(0, 400, (400,), generator=gen)], cloud[torch.randint(0, 400, (400,), generator=gen)]
        )
        for _ in range(3)
    ]
    assert metrics.wasserstein2(samples, cloud) <= 1.2 * sum(floors) / 3


def test_point_cloud_score_is_the_gradient_of_the_log_density():
    points = torch.randn(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    x = torch.randn(6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)
    alpha, sigma = torch.linspace(0.3, 1, 6, dtype=torch.float64), torch.linspace(1, 0.2, 6, dtype=torch.float64)
    (grad,) = torch.autograd.grad(point_cloud_log_prob(points, x, alpha, sigma).sum(), x)
    torch.testing.assert_close(point_cloud_score(points, x.detach(), alpha, sigma), grad)
    # the density integrates to one (1 point, 1D)
    grid = torch.linspace(-10, 10, 4001, dtype=torch.float64)[:, None]
    density = point_cloud_log_prob(torch.tensor([[0.5]], dtype=torch.float64), grid, 0.8, 0.7).exp()
    assert torch.trapezoid(density, grid[:, 0]).item() == pytest.approx(1.0, abs=1e-8)


def test_point_cloud_errors():
    with pytest.raises(ValueError, match="sigma must be positive"):
        point_cloud_score(torch.zeros(2, 2), torch.zeros(1, 2), 1.0, 0.0)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        point_cloud_score(torch.zeros(2, 2), torch.zeros(1, 3), 1.0, 0.5)


def test_smiley_and_wasserstein():
    s = shapes.smiley(100)
    assert s.shape == (100, 2) and s.abs().max() <= 2.0 + 1e-6
    assert metrics.wasserstein2(s, s.flip(0)) == pytest.approx(0.0, abs=1e-12)
    assert metrics.wasserstein2(s, s + torch.tensor([3.0, 4.0])) == pytest.approx(5.0, rel=1e-6)
    with pytest.raises(ValueError, match="same number"):
        metrics.wasserstein2(s, s[:5])
    with pytest.raises(ValueError, match="at least 20"):
        shapes.smiley(5)


def test_multiplicative_noise_is_refused() -> None:
    """The formulas need G = g(t): geometric Brownian motion (G = sigma x) raises instead of a wrong drift."""
    from coursekit.density import reverse_time as rt
    from coursekit.sde.processes import GeometricBrownianMotion

    gbm, x = GeometricBrownianMotion(), torch.ones(3, 2)
    for drift in (rt.reverse_sde_drift, rt.probability_flow_drift):
        with pytest.raises(ValueError, match="additive noise.*GeometricBrownianMotion has multiplicative noise"):
            drift(gbm, lambda y, t: -y, x, 0.5)
    with pytest.raises(ValueError, match="additive noise"):
        rt.ReverseSDE(gbm, lambda y, t: -y)
