"""SDEs: closed-form marginals against simulation, drift/diffusion contracts, bad input."""

import math

import pytest
import torch

from coursekit.sde import VESDE, VPSDE, BrownianMotion, GeometricBrownianMotion, OrnsteinUhlenbeck
from coursekit.sde.schedules import CosineSchedule, GeometricVESchedule
from coursekit.sde.solvers import euler_maruyama

N = 40_000


@pytest.mark.parametrize(
    "sde, t_end",
    [
        (BrownianMotion(0.7), 1.0),
        (OrnsteinUhlenbeck(2.0, 1.5), 1.0),
        (VPSDE(), 1.0),
        (VPSDE(CosineSchedule()), 0.9),
        (VESDE(0.01, 5.0), 1.0),
    ],
    ids=["bm", "ou", "vp-linear", "vp-cosine", "ve"],
)
def test_marginal_mean_and_variance_within_3_standard_errors(sde, t_end):
    """Euler-Maruyama with small steps reproduces the closed-form marginal of x_t | x_0."""
    gen = torch.Generator().manual_seed(1)
    x0 = torch.full((N, 1), 1.5, dtype=torch.float64)
    t_grid = torch.linspace(0, t_end, 1001, dtype=torch.float64)
    x_t = euler_maruyama(sde, x0, t_grid, generator=gen)[-1, :, 0]
    mean, std = sde.marginal(x0[:1], torch.tensor(t_end, dtype=torch.float64))
    mean, var = mean.item(), std.item() ** 2
    se_mean = math.sqrt(var / N)
    se_var = var * math.sqrt(2 / N)
    # 3 standard errors plus the O(dt) = 1e-3 relative bias of the solver
    assert abs(x_t.mean().item() - mean) < 3 * se_mean + 2e-3 * abs(mean)
    assert abs(x_t.var().item() - var) < 3 * se_var + 2e-3 * var


def test_sample_marginal_matches_moments(gen):
    sde = OrnsteinUhlenbeck()
    x = sde.sample_marginal(torch.full((N, 2), 2.0), 0.5, generator=gen)
    assert x.mean().item() == pytest.approx(2 * math.exp(-0.5), abs=4 * math.sqrt(1 / N))
    assert x.var().item() == pytest.approx(1 - math.exp(-1), rel=0.03)


def test_ou_stationary_law():
    sde = OrnsteinUhlenbeck(theta=3.0, sigma=2.0)
    alpha, sigma = sde.marginal_coefficients(torch.tensor(50.0))
    assert alpha.item() < 1e-20
    assert sigma.item() == pytest.approx(sde.stationary_std)


def test_vp_drift_and_diffusion_are_per_sample():
    sde = VPSDE()
    x, t = torch.ones(3, 2), torch.tensor([0.0, 0.5, 1.0])
    drift = sde.drift(x, t)
    torch.testing.assert_close(drift[:, 0], -0.5 * sde.beta(t))
    torch.testing.assert_close(sde.diffusion(t) ** 2, sde.beta(t))
    assert sde.diffusion_term(x, t).shape == (3, 1)


def test_ve_diffusion_gives_its_variance():
    """g(t)^2 = d/dt sigma_t^2 for the VE SDE."""
    sde = VESDE(0.01, 10.0)
    t = torch.linspace(0.1, 0.9, 9, dtype=torch.float64, requires_grad=True)
    _, sigma = sde.marginal_coefficients(t)
    (d_var,) = torch.autograd.grad((sigma**2).sum(), t)
    torch.testing.assert_close(sde.diffusion(t.detach()) ** 2, d_var)


def test_vp_diffusion_matches_variance_growth():
    """For the VP SDE, d/dt sigma_t^2 = beta(t) (1 - 2 sigma_t^2) ... checked via the moment ODE."""
    sde = VPSDE()
    t = torch.linspace(0.05, 0.95, 10, dtype=torch.float64, requires_grad=True)
    _, sigma = sde.marginal_coefficients(t)
    (d_var,) = torch.autograd.grad((sigma**2).sum(), t)
    beta = sde.beta(t.detach())
    # Var' = -beta Var + beta for x_0 = 0 (the linear moment equation of the SDE)
    torch.testing.assert_close(d_var, -beta * sigma.detach() ** 2 + beta)


def test_gbm_solution_and_multiplicative_noise():
    """GBM honours the base class: diffusion(t) is g(t) = sigma, and G(x, t) = g(t) x."""
    sde = GeometricBrownianMotion(0.5, 0.7)
    assert sde.noise_type == "multiplicative" and VPSDE().noise_type == "additive"
    t = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    torch.testing.assert_close(sde.diffusion(t), torch.full_like(t, 0.7))
    assert sde.diffusion(0.5).shape == ()
    x = torch.full((3, 2), 3.0, dtype=torch.float64)
    torch.testing.assert_close(sde.diffusion_term(x, t), sde.diffusion(t)[:, None] * x)


def test_bad_input():
    with pytest.raises(ValueError, match=r"shape \(N, d\)"):
        VPSDE().drift(torch.ones(5), 0.5)
    with pytest.raises(ValueError, match="t has shape"):
        VPSDE().drift(torch.ones(5, 2), torch.ones(3))
    with pytest.raises(ValueError, match="sigma"):
        BrownianMotion(-1.0)
    with pytest.raises(ValueError, match="sigma_max"):
        VESDE(1.0, 0.5)
    with pytest.raises(TypeError, match="variance-preserving"):
        VPSDE(GeometricVESchedule())
