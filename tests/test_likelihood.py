"""The probability-flow ODE likelihood equals the analytic log-density of a noised Gaussian mixture."""

import pytest
import torch

from coursekit import datasets
from coursekit.diffusion import noised_mixture_log_prob, noised_mixture_score
from coursekit.likelihood import gaussian_prior_log_prob, log_likelihood
from coursekit.sde import VESDE, VPSDE

MIX = datasets.mixture("8gaussians").to(dtype=torch.float64)
T_MIN = 1e-3


@pytest.fixture(scope="module")
def points():
    return MIX.sample(100, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("sde", [VPSDE(), VESDE()], ids=["vp", "ve"])
def test_exact_divergence_matches_the_analytic_log_density(sde, points):
    exact = noised_mixture_log_prob(MIX, sde)
    # VP: the default prior N(0, sigma_1^2 I) is the terminal law up to alpha_1 = 0.0066. VE keeps the
    # data's means at t = 1 (alpha = 1), an error of about x.mu / sigma_max^2 = 0.03 nats: use its exact law.
    prior = None if isinstance(sde, VPSDE) else (lambda y: exact(y, torch.tensor(1.0, dtype=torch.float64)))
    result = log_likelihood(sde, noised_mixture_score(MIX, sde), points, t_min=T_MIN, prior_log_prob=prior)
    expected = exact(points, torch.tensor(T_MIN, dtype=torch.float64))
    error = (result.log_prob - expected).abs().mean()
    print(f"{type(sde).__name__}: mean |error| = {error:.2e} nats, NFE = {result.nfe}")
    assert result.log_prob.shape == (100,) and error < 0.02
    assert torch.allclose(result.log_prob, result.prior_log_prob + result.delta_log_prob)


def test_with_the_exact_terminal_law_the_error_is_the_solver_s(points):
    sde = VPSDE()
    exact = noised_mixture_log_prob(MIX, sde)
    result = log_likelihood(sde, noised_mixture_score(MIX, sde), points, t_min=T_MIN,
                            prior_log_prob=lambda y: exact(y, torch.tensor(1.0, dtype=torch.float64)))
    assert (result.log_prob - exact(points, torch.tensor(T_MIN, dtype=torch.float64))).abs().mean() < 2e-3


def test_hutchinson_is_unbiased_for_the_likelihood(points):
    sde = VPSDE()
    x = points[:20]
    expected = noised_mixture_log_prob(MIX, sde)(x, torch.tensor(T_MIN, dtype=torch.float64))
    result = log_likelihood(sde, noised_mixture_score(MIX, sde), x.repeat(10, 1), t_min=T_MIN,
                            divergence="hutchinson", generator=torch.Generator().manual_seed(1), rtol=1e-4, atol=1e-4)
    estimates = result.log_prob.reshape(10, 20)  # 10 independent probes per point
    mean_error = (estimates.mean(0) - expected).mean()
    se = estimates.std(0).mean() / (10 * 20) ** 0.5
    assert abs(mean_error) < 4 * se + 0.02


def test_gaussian_prior():
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    expected = torch.distributions.Normal(0.0, 2.0).log_prob(x).sum(1)
    assert torch.allclose(gaussian_prior_log_prob(x, 2.0), expected)


def test_bad_input(points):
    sde = VPSDE()
    score = noised_mixture_score(MIX, sde)
    with pytest.raises(ValueError, match="divergence"):
        log_likelihood(sde, score, points, divergence="approx")
    with pytest.raises(ValueError, match="t_min"):
        log_likelihood(sde, score, points, t_min=2.0)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        log_likelihood(sde, score, points[0])
