"""Continuous normalizing flows (Chapter 3): divergences, the augmented ODE, the affine closed form."""

import math

import pytest
import torch

from coursekit.flows import cnf
from coursekit.flows.divergence import exact_divergence, hutchinson_divergence
from coursekit.flows.likelihood import LikelihoodResult, ode_log_likelihood

F64 = torch.float64


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: one thread avoids the contention of a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _field(d: int, seed: int = 0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(d, 16), torch.nn.Tanh(), torch.nn.Linear(16, d)).double()
    return net


@pytest.mark.parametrize("d", [1, 3, 7])
def test_exact_divergence_is_the_trace_of_the_jacobian(d):
    f = _field(d)
    x = torch.randn(5, d, dtype=F64, generator=torch.Generator().manual_seed(1))
    traces = torch.stack([torch.trace(torch.autograd.functional.jacobian(f, row)) for row in x])
    assert torch.allclose(exact_divergence(f, x), traces, atol=1e-12)


@pytest.mark.parametrize("distribution", ["rademacher", "gaussian"])
def test_hutchinson_mean_is_within_three_standard_errors(distribution):
    d, k = 6, 4000
    f = _field(d, seed=2)
    x = torch.randn(1, d, dtype=F64, generator=torch.Generator().manual_seed(3))
    exact = float(exact_divergence(f, x))
    gen = torch.Generator().manual_seed(4)
    # K independent single-probe estimates at once: the point repeated K times, one probe per row
    single = hutchinson_divergence(f, x.expand(k, d), distribution=distribution, generator=gen)
    mean, se = float(single.mean()), float(single.std() / math.sqrt(k))
    assert se > 0  # the estimator is random for this non-diagonal Jacobian
    assert abs(mean - exact) < 3 * se, (mean, exact, se)


def _affine(d: int, seed: int = 5):
    g = torch.Generator().manual_seed(seed)
    a = 0.5 * torch.randn(d, d, generator=g, dtype=F64)
    b = torch.randn(d, generator=g, dtype=F64)
    return a, b


def test_log_likelihood_of_an_affine_flow_is_the_change_of_variables():
    """For v(x) = A x + b: x_1 = e^A x + A^{-1}(e^A - I) b and log p(x) = log N(x_1) + tr A."""
    d = 3
    a, b = _affine(d)
    x = torch.randn(6, d, dtype=F64, generator=torch.Generator().manual_seed(6))
    expm = torch.linalg.matrix_exp(a)
    x1 = x @ expm.T + torch.linalg.solve(a, (expm - torch.eye(d, dtype=F64)) @ b)
    expected = -0.5 * (x1**2).sum(1) - 0.5 * d * math.log(2 * math.pi) + torch.trace(a)
    for method, kw in (("rk4", {"n_steps": 40}), ("dopri5", {"n_steps": 1, "rtol": 1e-10, "atol": 1e-10})):
        res = cnf.log_likelihood(lambda y, t: y @ a.T + b, x, method=method, **kw)
        assert torch.allclose(res.x_noise, x1, atol=1e-7)
        assert torch.allclose(res.delta_log_prob, torch.trace(a).expand(6), atol=1e-7)
        assert torch.allclose(res.log_prob, expected, atol=1e-7)
    assert res.nfe > 0


def test_augmented_velocity_sign_and_shape():
    state = torch.tensor([[1.0, 2.0, 0.0]], dtype=F64)
    out = cnf.augmented_velocity(lambda x, t: -3 * x, state, 0.0)
    assert out.shape == (1, 3)
    assert torch.allclose(out, torch.tensor([[-3.0, -6.0, -6.0]], dtype=F64))


def test_hutchinson_likelihood_is_exact_for_a_diagonal_jacobian():
    x = torch.randn(4, 2, dtype=F64)
    v = lambda y, t: y * torch.tensor([0.3, -0.7], dtype=F64)  # noqa: E731
    exact = cnf.log_likelihood(v, x).log_prob
    estimate = cnf.log_likelihood(v, x, divergence="hutchinson", generator=torch.Generator().manual_seed(0)).log_prob
    assert torch.allclose(exact, estimate, atol=1e-12)


def test_sampling_inverts_the_forward_solve():
    net = cnf.velocity_network(2, hidden=16, layers=2).double()
    x = torch.randn(5, 2, dtype=F64)
    z = cnf.log_likelihood(net, x, method="dopri5", rtol=1e-9, atol=1e-9).x_noise
    back = cnf.sample(net, z, method="dopri5", rtol=1e-9, atol=1e-9, n_steps=4)
    assert back.trajectory.shape == (5, 5, 2) and torch.allclose(
        back.t_grid[[0, -1]], torch.tensor([1.0, 0.0], dtype=F64)
    )
    assert torch.allclose(back.samples, x, atol=1e-6)
    assert cnf.sample(net, z, n_steps=3).nfe == 12  # RK4: four evaluations a step


def test_nll_loss_is_differentiable_and_training_lowers_it():
    torch.manual_seed(0)
    net = cnf.velocity_network(2, hidden=16, layers=2)
    x = torch.randn(128, 2, generator=torch.Generator().manual_seed(1)) * 0.5 + 1.0
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = cnf.nll_loss(net, x, n_steps=4)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.2


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="divergence"):
        cnf.log_likelihood(lambda x, t: x, torch.zeros(2, 2), divergence="trace")
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        cnf.log_likelihood(lambda x, t: x, torch.zeros(2))


def test_the_cnf_likelihood_is_the_generic_solve_on_a_uniform_grid():
    """One implementation: cnf.log_likelihood is ode_log_likelihood on linspace(0, 1, n_steps + 1), bit for bit."""
    net = cnf.velocity_network(2, hidden=8, layers=2).double()
    x = torch.randn(6, 2, dtype=F64, generator=torch.Generator().manual_seed(7))
    for kw in ({"n_steps": 3}, {"method": "dopri5", "n_steps": 2}):
        ours = cnf.log_likelihood(net, x, divergence="hutchinson", generator=torch.Generator().manual_seed(1), **kw)
        grid = torch.linspace(0, 1, kw["n_steps"] + 1, dtype=F64)
        generic = ode_log_likelihood(
            net,
            x,
            grid,
            divergence="hutchinson",
            generator=torch.Generator().manual_seed(1),
            method=kw.get("method", "rk4"),
        )
        assert torch.equal(ours.log_prob, generic.log_prob) and ours.nfe == generic.nfe
    # the Chapter 3 result type is the generic one, built positionally as the exercise does
    assert cnf.CNFLikelihood is LikelihoodResult
    res = cnf.CNFLikelihood(ours.log_prob, ours.prior_log_prob, ours.delta_log_prob, ours.x_noise, ours.nfe)
    assert res.trajectory is None and torch.equal(res.log_prob, ours.log_prob)
