"""OT-Flow (Chapter 4): the exact gradient and Laplacian, a Taylor test, the dynamics, Gaussian OT."""

import math

import pytest
import torch

from coursekit.flows import cnf, gaussian_ot, ot_flow
from coursekit.flows.divergence import exact_divergence
from coursekit.flows.likelihood import LikelihoodResult

F64 = torch.float64


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: one thread avoids the contention of a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _potential(d: int, layers: int = 2, width: int = 12, seed: int = 0) -> ot_flow.Potential:
    torch.manual_seed(seed)
    phi = ot_flow.Potential(d, width=width, layers=layers).double()
    with torch.no_grad():  # move off the initialisation (w = 1, b = 0) so that every term matters
        for p in phi.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return phi


def _autograd(phi, x, t):
    x = x.clone().requires_grad_(True)
    t = t.clone().requires_grad_(True)
    gx, gt = torch.autograd.grad(phi(x, t).sum(), (x, t), create_graph=True)
    lap = sum(torch.autograd.grad(gx[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(x.shape[1]))
    return gx, gt, lap


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("d", [2, 10, 43])
def test_gradient_and_laplacian_equal_autograd(d, layers):
    phi = _potential(d, layers)
    g = torch.Generator().manual_seed(d)
    x, t = torch.randn(7, d, generator=g, dtype=F64), torch.rand(7, generator=g, dtype=F64)
    grad, lap = phi.grad_and_laplacian(x, t)
    gx, gt, lap_ref = _autograd(phi, x, t)
    assert grad.shape == (7, d + 1) and lap.shape == (7,)
    assert (grad[:, :d] - gx).abs().max() < 1e-8
    assert (grad[:, d] - gt).abs().max() < 1e-8
    assert (lap - lap_ref).abs().max() < 1e-8
    assert torch.allclose(ot_flow.potential_gradient(phi, x, t), grad)
    assert torch.allclose(ot_flow.potential_laplacian(phi, x, t), lap)
    assert torch.allclose(phi.velocity(x, t), -gx)


def _slope(hs, errors):
    logs = torch.tensor([[math.log(h), math.log(e)] for h, e in zip(hs, errors, strict=True)], dtype=F64)
    centered = logs - logs.mean(0)
    return float((centered[:, 0] * centered[:, 1]).sum() / (centered[:, 0] ** 2).sum())


def test_taylor_expansion_orders():
    """|Phi(s + h v) - Phi(s)| = O(h), with the gradient O(h^2); the finite-difference Laplacian errs by O(h^2)."""
    d = 5
    phi = _potential(d, layers=3)
    g = torch.Generator().manual_seed(11)
    x, t = torch.randn(3, d, generator=g, dtype=F64), torch.full((3,), 0.4, dtype=F64)
    vx, vt = torch.randn(3, d, generator=g, dtype=F64), torch.randn(3, generator=g, dtype=F64)
    grad, lap = phi.grad_and_laplacian(x, t)
    phi.requires_grad_(False)
    base = phi(x, t)
    hs = [2.0**-k for k in range(2, 9)]
    zeroth, first, laplacian = [], [], []
    for h in hs:
        moved = phi(x + h * vx, t + h * vt)
        zeroth.append(float((moved - base).abs().max()))
        first.append(float((moved - base - h * ((grad[:, :d] * vx).sum(1) + grad[:, d] * vt)).abs().max()))
        eye = torch.eye(d, dtype=F64)
        second = sum(phi(x + h * eye[i], t) - 2 * base + phi(x - h * eye[i], t) for i in range(d)) / h**2
        laplacian.append(float((second - lap).abs().max()))
    assert 0.9 < _slope(hs, zeroth) < 1.1
    assert 1.9 < _slope(hs, first) < 2.1
    assert 1.9 < _slope(hs, laplacian) < 2.1
    assert first[-1] < 0.05 * zeroth[-1]


def test_augmented_velocity_matches_its_definition():
    d = 3
    phi = _potential(d)
    state = torch.cat([torch.randn(6, d, dtype=F64), torch.zeros(6, 3, dtype=F64)], 1)
    out = ot_flow.augmented_velocity(phi, state, 0.3)
    gx, gt, lap = _autograd(phi, state[:, :d], torch.full((6,), 0.3, dtype=F64))
    assert torch.allclose(out[:, :d], -gx)
    div = exact_divergence(lambda y: phi.velocity(y, 0.3), state[:, :d])
    assert torch.allclose(out[:, d], div) and torch.allclose(out[:, d], -lap)  # d/dt log-det = div v = -Lap Phi
    kinetic = 0.5 * (gx**2).sum(1)
    assert torch.allclose(out[:, d + 1], kinetic)
    assert torch.allclose(out[:, d + 2], (gt - kinetic).abs())
    with pytest.raises(ValueError, match="state"):
        ot_flow.augmented_velocity(phi, state[:, :d], 0.3)


def test_flow_likelihood_agrees_with_the_cnf_solve():
    phi = _potential(2)
    x = torch.randn(5, 2, dtype=F64)
    res = ot_flow.integrate_flow(phi, x, n_steps=6)
    ref = cnf.log_likelihood(phi.velocity, x, n_steps=6)
    assert torch.allclose(res.log_prob, ref.log_prob, atol=1e-10)
    assert res.trajectory.shape == (7, 5, 2) and res.nfe == 24
    assert (res.kinetic > 0).all() and (res.hjb >= 0).all()
    # one result type: the running costs of the generic solve are (L, R), named by OTFlowResult
    assert isinstance(res, LikelihoodResult) and res.running_costs.shape == (5, 2)
    assert torch.equal(res.running_costs, torch.stack([res.kinetic, res.hjb], 1))
    torch.testing.assert_close(res.log_prob, res.prior_log_prob + res.delta_log_prob)
    v, div, costs = ot_flow.potential_field(phi, x, 0.3)
    torch.testing.assert_close(
        torch.cat([v, div[:, None], costs], 1),
        ot_flow.augmented_velocity(phi, torch.cat([x, torch.zeros(5, 3, dtype=F64)], 1), 0.3),
    )
    back = ot_flow.sample(phi, ot_flow.integrate_flow(phi, x, n_steps=64).x_noise, n_steps=64)
    assert torch.allclose(back.samples, x, atol=1e-5)  # RK4 with 64 steps inverts the forward solve


def test_loss_combines_the_terms_and_training_lowers_it():
    torch.manual_seed(0)
    phi = ot_flow.Potential(2, width=8, layers=2)
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(1)) * 0.5 + 1.0
    objective = ot_flow.ot_flow_objective(phi, x, alpha=(0.5, 2.0), n_steps=2)
    loss = ot_flow.ot_flow_loss(phi, x, alpha=(0.5, 2.0), n_steps=2)
    assert loss.ndim == 0 and loss.requires_grad and torch.equal(loss, objective.loss)
    terms = (objective.nll, objective.kinetic, objective.hjb)
    assert all(term.ndim == 0 and not term.requires_grad for term in terms)
    result = ot_flow.integrate_flow(phi, x, n_steps=2)
    torch.testing.assert_close(objective.nll, -result.log_prob.mean().detach(), rtol=0, atol=0)
    torch.testing.assert_close(objective.hjb, result.hjb.mean().detach(), rtol=0, atol=0)
    assert math.isclose(loss.item(), float(objective.nll + 0.5 * objective.kinetic + 2.0 * objective.hjb), rel_tol=1e-6)
    opt = torch.optim.Adam(phi.parameters(), lr=0.05)
    first = loss.item()
    for _ in range(10):
        loss = ot_flow.ot_flow_loss(phi, x, n_steps=2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first - 0.2
    with pytest.raises(ValueError, match="alpha"):
        ot_flow.ot_flow_loss(phi, x, alpha=(1.0, 100.0, 5.0))
    with pytest.raises(ValueError, match="alpha"):
        ot_flow.ot_flow_objective(phi, x, alpha=(1.0,))


def _spd(d, seed):
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(d, d, generator=g, dtype=F64)
    return m @ m.T + 0.5 * torch.eye(d, dtype=F64)


@pytest.mark.parametrize("d", [1, 2, 5])
def test_gaussian_ot_map_pushes_forward_and_is_symmetric(d):
    cov0, cov1 = _spd(d, 1), _spd(d, 2)
    a = gaussian_ot.ot_map_matrix(cov0, cov1)
    assert torch.allclose(a, a.T) and (torch.linalg.eigvalsh(a) > 0).all()  # the gradient of a convex function
    assert torch.allclose(a @ cov0 @ a, cov1, atol=1e-10)  # T pushes N(m0, S0) to N(m1, S1)
    if d == 1:
        assert torch.allclose(a, (cov1 / cov0).sqrt())


def test_gaussian_ot_map_cost_is_w2_and_beats_the_cholesky_map():
    d = 3
    m0, m1 = torch.zeros(d, dtype=F64), torch.ones(d, dtype=F64)
    cov0, cov1 = _spd(d, 3), _spd(d, 4)
    ot_map = gaussian_ot.GaussianOTMap.between(m0, cov0, m1, cov1)
    x = (
        m0
        + torch.randn(200000, d, generator=torch.Generator().manual_seed(5), dtype=F64) @ torch.linalg.cholesky(cov0).T
    )
    cost = ((ot_map(x) - x) ** 2).sum(1)
    w2 = gaussian_ot.gaussian_w2_squared(m0, cov0, m1, cov1)
    assert abs(float(cost.mean()) - w2) < 3 * float(cost.std()) / math.sqrt(len(x))
    chol = torch.linalg.cholesky(cov1) @ torch.linalg.inv(torch.linalg.cholesky(cov0))  # also pushes forward
    other = ((m1 + (x - m0) @ chol.T - x) ** 2).sum(1).mean()
    assert float(other) > w2 + 0.01
    assert torch.allclose(ot_map.interpolate(x[:3], 0.0), x[:3]) and torch.allclose(
        ot_map.interpolate(x[:3], 1.0), ot_map(x[:3])
    )


def test_gaussian_ot_refuses_non_square():
    with pytest.raises(ValueError, match="square"):
        gaussian_ot.ot_map_matrix(torch.ones(2, 3), torch.eye(2))
