"""The likelihood along an ODE: the generic solve (closed forms, round trips, running costs) and the
probability-flow ODE likelihood of a diffusion model, which equals the analytic log-density of a noised
Gaussian mixture."""

import math

import pytest
import torch

from coursekit.data import toys
from coursekit.density.reverse_time import probability_flow_drift
from coursekit.diffusion import noised_mixture_log_prob, noised_mixture_score
from coursekit.diffusion.likelihood import log_likelihood
from coursekit.flows import likelihood
from coursekit.flows.likelihood import (
    LikelihoodResult,
    augmented_dynamics,
    gaussian_prior_log_prob,
    integrate_log_likelihood,
    ode_log_likelihood,
)
from coursekit.sde import VESDE, VPSDE

F64 = torch.float64

MIX = toys.mixture("8gaussians").to(dtype=torch.float64)
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
    result = log_likelihood(
        sde,
        noised_mixture_score(MIX, sde),
        points,
        t_min=T_MIN,
        prior_log_prob=lambda y: exact(y, torch.tensor(1.0, dtype=torch.float64)),
    )
    assert (result.log_prob - exact(points, torch.tensor(T_MIN, dtype=torch.float64))).abs().mean() < 2e-3


def test_hutchinson_is_unbiased_for_the_likelihood(points):
    sde = VPSDE()
    x = points[:20]
    expected = noised_mixture_log_prob(MIX, sde)(x, torch.tensor(T_MIN, dtype=torch.float64))
    result = log_likelihood(
        sde,
        noised_mixture_score(MIX, sde),
        x.repeat(10, 1),
        t_min=T_MIN,
        divergence="hutchinson",
        generator=torch.Generator().manual_seed(1),
        rtol=1e-4,
        atol=1e-4,
    )
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


# --- the generic solve ----------------------------------------------------------------------------


def _affine(d=3, seed=5):
    g = torch.Generator().manual_seed(seed)
    return 0.5 * torch.randn(d, d, generator=g, dtype=F64), torch.randn(d, generator=g, dtype=F64)


def test_ode_log_likelihood_of_an_affine_flow_with_any_prior():
    """v = A x + b on [0, 2]: x_2 = e^{2A} x + A^{-1}(e^{2A} - I) b, log p_0(x) = log p_2(x_2) + 2 tr A."""
    a, b = _affine()
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(6), dtype=F64)
    expm = torch.linalg.matrix_exp(2 * a)
    x2 = x @ expm.T + torch.linalg.solve(a, (expm - torch.eye(3, dtype=F64)) @ b)
    prior = lambda y: gaussian_prior_log_prob(y, 3.0)  # noqa: E731
    res = ode_log_likelihood(
        lambda y, t: y @ a.T + b, x, torch.tensor([0.0, 2.0], dtype=F64), prior_log_prob=prior, rtol=1e-10, atol=1e-10
    )
    torch.testing.assert_close(res.x_noise, x2, rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(res.delta_log_prob, torch.full((6,), 2 * float(torch.trace(a)), dtype=F64))
    torch.testing.assert_close(res.log_prob, prior(x2) + 2 * torch.trace(a), rtol=1e-7, atol=1e-7)
    assert res.trajectory.shape == (2, 6, 3) and res.running_costs is None
    assert torch.allclose(res.bits_per_dim, -res.log_prob / (3 * math.log(2)))


def test_a_backward_solve_undoes_the_forward_one():
    """From x_1 back to t = 0: the end point is x again, and the integrated divergence changes sign."""
    a, b = _affine(seed=7)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(8), dtype=F64)
    v = lambda y, t: torch.tanh(y @ a.T + b) * (1 + t)  # noqa: E731  (a nonlinear, time-dependent field)
    forward = ode_log_likelihood(v, x, torch.linspace(0, 1, 17, dtype=F64), method="rk4")
    backward = ode_log_likelihood(v, forward.x_noise, torch.linspace(1, 0, 17, dtype=F64), method="rk4")
    torch.testing.assert_close(backward.x_noise, x, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(backward.delta_log_prob, -forward.delta_log_prob, rtol=1e-5, atol=1e-5)


def test_running_costs_and_a_given_divergence():
    """v = -x, div v = -d given in closed form, costs ||x||^2 and 1: x_t = e^{-t} x, C = ||x||^2 (1 - e^{-2}) / 2."""
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(9), dtype=F64)

    def field(y, t):
        return -y, y.new_full((y.shape[0],), -2.0), torch.stack([(y**2).sum(1), torch.ones_like(y[:, 0])], 1)

    res = integrate_log_likelihood(field, x, torch.linspace(0, 1, 65, dtype=F64), n_costs=2, method="rk4")
    torch.testing.assert_close(res.x_noise, x * math.exp(-1), rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(res.delta_log_prob, torch.full((5,), -2.0, dtype=F64))
    torch.testing.assert_close(res.running_costs[:, 0], (x**2).sum(1) * (1 - math.exp(-2)) / 2, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(res.running_costs[:, 1], torch.ones(5, dtype=F64))
    assert res.nfe == 64 * 4 and res.trajectory.shape == (65, 5, 2)
    assert isinstance(res, LikelihoodResult)


def test_the_field_is_checked():
    state = torch.zeros(3, 4)
    with pytest.raises(ValueError, match="field must return"):
        augmented_dynamics(lambda x, t: (x, x.sum(1)), state, 0.0, dim=2)  # no costs for a state of width d + 2
    with pytest.raises(ValueError, match="state must have shape"):
        augmented_dynamics(lambda x, t: (x, x.sum(1)), state, 0.0, dim=4)
    with pytest.raises(ValueError, match="prior_log_prob must return"):
        ode_log_likelihood(lambda x, t: x, torch.zeros(3, 2), torch.tensor([0.0, 1.0]), prior_log_prob=lambda y: y)


def test_the_probability_flow_likelihood_is_the_generic_solve_of_the_probability_flow():
    sde, points = VPSDE(), MIX.sample(8, generator=torch.Generator().manual_seed(10))
    score = noised_mixture_score(MIX, sde)
    ours = log_likelihood(sde, score, points, t_min=T_MIN)
    std = float(sde.marginal_coefficients(1.0)[1])
    generic = ode_log_likelihood(
        lambda x, t: probability_flow_drift(sde, score, x, t),
        points,
        torch.tensor([T_MIN, 1.0], dtype=F64),
        prior_log_prob=lambda y: gaussian_prior_log_prob(y, std),
    )
    assert torch.equal(ours.log_prob, generic.log_prob) and ours.nfe == generic.nfe


def test_the_old_home_of_the_diffusion_likelihood_says_where_it_went():
    with pytest.raises(AttributeError, match="coursekit.diffusion.likelihood"):
        likelihood.log_likelihood  # noqa: B018
