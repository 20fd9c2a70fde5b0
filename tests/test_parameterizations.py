"""Score, noise, denoiser and velocity conversions: round trips and closed forms."""

import pytest
import torch

from coursekit.density.mixtures import GaussianMixture, noised_score
from coursekit.density.reverse_time import probability_flow_drift
from coursekit.diffusion import parameterizations as P
from coursekit.sde import VESDE, VPSDE
from coursekit.sde.schedules import CosineSchedule, GeometricVESchedule, LinearBetaSchedule

F64 = torch.float64


@pytest.fixture
def batch(gen):
    x = torch.randn(8, 3, generator=gen, dtype=F64)
    s = torch.randn(8, 3, generator=gen, dtype=F64)
    t = torch.linspace(0.05, 0.95, 8, dtype=F64)
    return x, s, t


@pytest.mark.parametrize("schedule", [LinearBetaSchedule(), CosineSchedule(), GeometricVESchedule()])
def test_round_trips(batch, schedule):
    x, s, t = batch
    v = schedule(t)
    assert torch.allclose(P.score_from_noise(P.noise_from_score(s, v.sigma), v.sigma), s)
    D = P.denoiser_from_score(x, s, v.alpha, v.sigma)
    assert torch.allclose(P.score_from_denoiser(x, D, v.alpha, v.sigma), s)
    eps = P.noise_from_score(s, v.sigma)
    assert torch.allclose(P.data_from_noise(x, eps, v.alpha, v.sigma), D)
    assert torch.allclose(P.noise_from_data(x, D, v.alpha, v.sigma), eps)
    vel = P.velocity_from_score(x, s, v.alpha, v.sigma, v.d_alpha, v.d_sigma)
    assert torch.allclose(P.score_from_velocity(x, vel, v.alpha, v.sigma, v.d_alpha, v.d_sigma), s)
    # x_t = alpha D + sigma eps: the decomposition is consistent
    assert torch.allclose(v.alpha[:, None] * D + v.sigma[:, None] * eps, x)
    # v = d_alpha D + d_sigma eps (the marginal velocity of the path)
    assert torch.allclose(vel, v.d_alpha[:, None] * D + v.d_sigma[:, None] * eps)


@pytest.mark.parametrize("sde", [VPSDE(), VPSDE(CosineSchedule()), VESDE()])
def test_velocity_is_the_probability_flow_drift(batch, sde):
    x, s, t = batch
    v = sde.schedule(t)
    expected = probability_flow_drift(sde, lambda y, tau: s, x, t)
    assert torch.allclose(P.velocity_from_score(x, s, v.alpha, v.sigma, v.d_alpha, v.d_sigma), expected, rtol=1e-8)


def test_tweedie_on_a_gaussian_mixture(gen):
    # E[x_data | x_t] by the posterior of a mixture with Gaussian components, in closed form
    means = torch.tensor([[-2.0, 0.0], [2.0, 1.0]], dtype=F64)
    mix = GaussianMixture.isotropic(means, 0.5)
    alpha, sigma = 0.7, 0.6
    x = torch.randn(20, 2, generator=gen, dtype=F64)
    var = alpha**2 * 0.25 + sigma**2
    logits = -((x[:, None] - alpha * means) ** 2).sum(-1) / (2 * var)
    r = torch.softmax(logits, 1)  # (N, K)
    post = means + (alpha * 0.25 / var) * (x[:, None] - alpha * means)  # E[x0 | x_t, k]: (N, K, d)
    expected = (r[..., None] * post).sum(1)
    D = P.denoiser_from_score(x, noised_score(mix, x, alpha, sigma), alpha, sigma)
    assert torch.allclose(D, expected, atol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="shape of x"):
        P.denoiser_from_score(torch.zeros(3, 2), torch.zeros(3, 3), 1.0, 0.5)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        P.score_from_noise(torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match="t has shape"):
        P.noise_from_score(torch.zeros(3, 2), torch.ones(4))
