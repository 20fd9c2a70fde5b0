"""Flow matching: the path, the CFM loss, OT couplings, the ideal velocity of a point cloud, sampling."""

import itertools
import math

import pytest
import torch

from coursekit.data import toys
from coursekit.density import noised
from coursekit.density.point_cloud import point_cloud_posterior, point_cloud_score
from coursekit.flows import flow_matching as fm
from coursekit.metrics import wasserstein2
from coursekit.nn.networks import MLP
from coursekit.nn.training import train

F64 = torch.float64


def _cloud(gen, m=12, d=2):
    return 2 * torch.randn(m, d, generator=gen, dtype=F64)


# --- the conditional path ------------------------------------------------------------------------


def test_linear_path_endpoints_and_velocity(gen):
    x_data, x_noise = torch.randn(5, 3, generator=gen, dtype=F64), torch.randn(5, 3, generator=gen, dtype=F64)
    assert torch.equal(fm.linear_path(x_data, x_noise, 0.0), x_data)
    assert torch.equal(fm.linear_path(x_data, x_noise, 1.0), x_noise)
    t = torch.rand(5, generator=gen, dtype=F64).requires_grad_()
    x_t = fm.linear_path(x_data, x_noise, t)
    for i in range(5):  # d x_t / dt by autograd is the conditional velocity
        grad = torch.stack([torch.autograd.grad(x_t[i, k], t, retain_graph=True)[0][i] for k in range(3)])
        torch.testing.assert_close(grad, fm.conditional_velocity(x_data, x_noise)[i])


# --- the ideal velocity of a point cloud ---------------------------------------------------------


@pytest.mark.parametrize("t", [0.05, 0.3, 0.7, 1.0])
def test_ideal_velocity_equals_brute_force_conditional_expectation(gen, t):
    points, x = _cloud(gen), 1.5 * torch.randn(9, 2, generator=gen, dtype=F64)
    expected = []
    for xn in x:  # enumerate the M possible data points, weight each by the density of x_t given it
        log_density = torch.stack([torch.distributions.Normal((1 - t) * y, t).log_prob(xn).sum() for y in points])
        density = torch.exp(log_density - log_density.max())  # importance weights, rescaled to avoid underflow
        weights = density / density.sum()
        x_noise = (xn - (1 - t) * points) / t  # the noise that puts x_t at xn on each conditional path
        expected.append((weights[:, None] * (x_noise - points)).sum(0))
    torch.testing.assert_close(fm.ideal_velocity(points, x, t), torch.stack(expected), atol=1e-9, rtol=1e-9)


def test_ideal_velocity_minimises_the_regression_by_monte_carlo(gen):
    # E[(x_noise - x_data - u(x_t)) . phi(x_t)] = 0 for every test function phi: u is the conditional mean
    points = _cloud(gen, m=5)
    n = 400_000
    x_data = points[torch.randint(0, 5, (n,), generator=gen)]
    x_noise, t = torch.randn(n, 2, generator=gen, dtype=F64), 0.05 + 0.9 * torch.rand(n, generator=gen, dtype=F64)
    x_t = fm.linear_path(x_data, x_noise, t)
    residual = x_noise - x_data - fm.ideal_velocity(points, x_t, t)  # (n, 2)
    for phi in (x_t, torch.sin(x_t), t[:, None] * x_t.flip(1)):
        moment = (residual * phi).sum(1)
        assert abs(float(moment.mean())) < 4 * float(moment.std()) / math.sqrt(n)


def test_ideal_velocity_solves_the_continuity_equation(gen):
    # d/dt log p + div u + u . grad log p = 0 for p_t = mean_j N((1 - t) y_j, t^2 I)
    points = _cloud(gen, m=6)
    x = torch.randn(7, 2, generator=gen, dtype=F64).requires_grad_()
    t = (0.1 + 0.8 * torch.rand(7, generator=gen, dtype=F64)).requires_grad_()

    def log_p(x, t):
        diff = x[:, None, :] - (1 - t)[:, None, None] * points[None]  # (N, M, 2)
        return torch.logsumexp(-(diff**2).sum(-1) / (2 * t[:, None] ** 2), 1) - 2 * torch.log(t)

    lp = log_p(x, t)
    dlp_dt, grad_lp = torch.autograd.grad(lp.sum(), (t, x))
    u = fm.ideal_velocity(points, x, t)
    div = sum(torch.autograd.grad(u[:, k].sum(), x, retain_graph=True)[0][:, k] for k in range(2))
    torch.testing.assert_close(dlp_dt + div + (u * grad_lp).sum(1), torch.zeros(7, dtype=F64), atol=1e-8, rtol=0)


@pytest.mark.parametrize("t", [0.05, 0.5, 0.95])
def test_ideal_velocity_is_the_velocity_score_identity_of_the_straight_path(gen, t):
    """u_t = -E[x_data | x_t] - t grad log p_t, and, eliminating the posterior mean, -(x + t grad log p_t) / (1 - t)."""
    points, x = _cloud(gen), 1.5 * torch.randn(9, 2, generator=gen, dtype=F64)
    score = point_cloud_score(points, x, 1 - t, t)  # the cloud noised with alpha = 1 - t, sigma = t
    posterior_mean = point_cloud_posterior(points, x, 1 - t, t).weights @ points
    u = fm.ideal_velocity(points, x, t)
    torch.testing.assert_close(u, -posterior_mean - t * score, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(u, -(x + t * score) / (1 - t), rtol=1e-8, atol=1e-8)


def test_ideal_velocity_limits_and_stability(gen, monkeypatch):
    points = _cloud(gen)
    x = 3 * torch.randn(20, 2, generator=gen)
    # t = 1: the weights are uniform, u = x - mean(y)
    torch.testing.assert_close(fm.ideal_velocity(points.float(), x, 1.0), x - points.float().mean(0))
    # small t far from the cloud: no NaN, the nearest (rescaled) point wins
    u = fm.ideal_velocity(points.float(), x, 1e-4)
    assert torch.isfinite(u).all()
    nearest = points.float()[torch.cdist(x, (1 - 1e-4) * points.float()).argmin(1)]
    torch.testing.assert_close(u, (x - nearest) / 1e-4, rtol=1e-4, atol=1e-2)
    # on the path near t = 0, float32 gives the conditional velocity accurately
    y, z, t = points[:1].float(), torch.randn(1, 2, generator=gen), 1e-3
    torch.testing.assert_close(
        fm.ideal_velocity(points.float(), fm.linear_path(y, z, t), t), z - y, rtol=1e-3, atol=1e-3
    )
    # per-sample t equals a loop over scalar t, with and without chunking
    t = torch.rand(20, generator=gen) * 0.9 + 0.05
    loop = torch.cat([fm.ideal_velocity(points.float(), x[i : i + 1], float(t[i])) for i in range(20)])
    torch.testing.assert_close(fm.ideal_velocity(points.float(), x, t), loop)
    monkeypatch.setattr(noised, "_CHUNK", 30)  # 30 // (12 * 2) = 1 point per chunk
    torch.testing.assert_close(fm.ideal_velocity(points.float(), x, t), loop)


def test_sampling_the_ideal_velocity_lands_on_the_cloud(gen):
    cloud = toys.sample("8gaussians", 300, generator=gen)
    out = fm.sample(lambda x, t: fm.ideal_velocity(cloud, x, t), torch.randn(300, 2, generator=gen), t_end=1e-3)
    resample = [cloud[torch.randint(0, 300, (300,), generator=gen)] for _ in range(2)]
    floor = wasserstein2(*resample)
    assert wasserstein2(out.samples, cloud) < 1.2 * floor
    assert 20 < out.nfe < 1000  # adaptive: counted, not a fixed number of steps


# --- OT couplings --------------------------------------------------------------------------------


def test_ot_coupling_is_the_best_permutation(gen):
    for _ in range(5):
        x_data, x_noise = torch.randn(6, 2, generator=gen), torch.randn(6, 2, generator=gen)
        cost = torch.cdist(x_data.double(), x_noise.double()) ** 2
        perm = fm.ot_coupling(x_data, x_noise)
        assert perm.dtype == torch.long and sorted(perm.tolist()) == list(range(6))
        best = min(sum(cost[i, p[i]] for i in range(6)) for p in itertools.permutations(range(6)))
        assert float(cost[torch.arange(6), perm].sum()) == pytest.approx(float(best), rel=1e-12)


# --- the CFM loss --------------------------------------------------------------------------------


def _field(x, t):
    return torch.sin(x) * torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1) - x


def test_cfm_loss_formula_with_given_noise_and_time(gen):
    x_data, x_noise = torch.randn(16, 3, generator=gen, dtype=F64), torch.randn(16, 3, generator=gen, dtype=F64)
    t = torch.rand(16, generator=gen, dtype=F64)
    x_t = (1 - t[:, None]) * x_data + t[:, None] * x_noise
    expected = ((_field(x_t, t) - (x_noise - x_data)) ** 2).sum(1).mean()
    torch.testing.assert_close(fm.cfm_loss(_field, x_data, x_noise=x_noise, t=t), expected)
    perm = fm.ot_coupling(x_data, x_noise)
    z = x_noise[perm]
    x_t = (1 - t[:, None]) * x_data + t[:, None] * z
    expected_ot = ((_field(x_t, t) - (z - x_data)) ** 2).sum(1).mean()
    torch.testing.assert_close(fm.cfm_loss(_field, x_data, x_noise=x_noise, t=t, coupling="ot"), expected_ot)


def test_cfm_loss_is_reproducible_and_leaves_the_global_rng_alone():
    x_data = torch.randn(32, 2, generator=torch.Generator().manual_seed(1))
    state = torch.get_rng_state()
    a = fm.cfm_loss(_field, x_data, generator=torch.Generator().manual_seed(5))
    b = fm.cfm_loss(_field, x_data, generator=torch.Generator().manual_seed(5))
    c = fm.cfm_loss(_field, x_data, generator=torch.Generator().manual_seed(6))
    assert torch.equal(state, torch.get_rng_state())
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_ot_coupling_shortens_the_pairs(gen):
    x_data = toys.sample("8gaussians", 256, generator=gen)
    independent = fm.sample_path(x_data, generator=torch.Generator().manual_seed(0))
    ot = fm.sample_path(x_data, coupling="ot", generator=torch.Generator().manual_seed(0))
    length = lambda p: float((p.target**2).sum(1).mean())  # noqa: E731
    assert length(ot) < 0.5 * length(independent)
    assert torch.equal(torch.sort(ot.x_noise, 0).values, torch.sort(independent.x_noise, 0).values)  # same noise


def test_cfm_loss_is_smallest_at_the_marginal_velocity(gen):
    # L(v) = L(u) + E||v - u||^2 in expectation: with common random numbers the gap is ~ E||delta||^2
    points = _cloud(gen, m=8)
    x_data = points[torch.randint(0, 8, (50_000,), generator=gen)]
    x_noise, t = (
        torch.randn(50_000, 2, generator=gen, dtype=F64),
        0.02 + 0.98 * torch.rand(50_000, generator=gen, dtype=F64),
    )
    ideal = lambda x, s: fm.ideal_velocity(points, x, s)  # noqa: E731
    base = float(fm.cfm_loss(ideal, x_data, x_noise=x_noise, t=t))
    for scale in (0.3, 1.0):  # the cross term's Monte Carlo noise is ~0.006 * scale
        perturbed = lambda x, s: ideal(x, s) + scale * torch.cos(x)  # noqa: E731,B023
        gap = float(fm.cfm_loss(perturbed, x_data, x_noise=x_noise, t=t)) - base
        excess = float(((scale * torch.cos(fm.linear_path(x_data, x_noise, t))) ** 2).sum(1).mean())
        assert gap > 0 and gap == pytest.approx(excess, rel=0.15)


# --- sampling ------------------------------------------------------------------------------------


def test_sample_euler_and_adaptive_on_a_linear_field(gen):
    z = torch.randn(10, 2, generator=gen, dtype=F64)
    # dx/dt = x from t = 1 back to t = 0: x(0) = z e^{-1}; Euler: z (1 - 1/n)^n
    euler = fm.sample(lambda x, t: x, z, n_steps=8)
    assert euler.nfe == 8 and euler.trajectory.shape == (9, 10, 2)
    torch.testing.assert_close(euler.samples, z * (1 - 1 / 8) ** 8)
    adaptive = fm.sample(lambda x, t: x, z, rtol=1e-8, atol=1e-8, n_save=4)
    assert adaptive.trajectory.shape == (5, 10, 2) and adaptive.nfe > 8
    torch.testing.assert_close(adaptive.samples, z * math.exp(-1), atol=1e-7, rtol=1e-7)
    torch.testing.assert_close(adaptive.t_grid, torch.linspace(1, 0, 5, dtype=F64))


def test_sample_runs_without_gradients_unless_asked():
    net = MLP(2, 16, 1)
    z = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    assert not fm.sample(net, z, n_steps=2).samples.requires_grad
    assert fm.sample(net, z, n_steps=2, enable_grad=True).samples.requires_grad


def test_icfm_training_learns_8gaussians():
    # 300 Adam steps of I-CFM on a small MLP (~2 s on 2 idle cores); W2 of 512 samples (20 Euler steps)
    torch.manual_seed(0)  # the network's initialisation
    net = MLP(2, 64, 3)
    g = torch.Generator().manual_seed(1)
    train(
        lambda step: fm.cfm_loss(net, toys.sample("8gaussians", 256, generator=g), generator=g),
        net,
        steps=300,
        lr=3e-3,
        progress=False,
    )
    gs = torch.Generator().manual_seed(2)
    data, data2 = toys.sample("8gaussians", 512, generator=gs), toys.sample("8gaussians", 512, generator=gs)
    z = torch.randn(512, 2, generator=gs)
    floor, w2 = wasserstein2(data, data2), wasserstein2(fm.sample(net, z, n_steps=20).samples, data)
    # measured: floor 0.57, W2 0.48-0.59 over three seeds; the untrained network gives 1.7
    assert w2 < 1.3 * floor
    assert wasserstein2(fm.sample(MLP(2, 64, 3), z, n_steps=20).samples, data) > 2 * floor


# --- errors --------------------------------------------------------------------------------------


def test_bad_input_raises():
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="same number of points"):
        fm.linear_path(x, torch.zeros(3, 2), 0.5)
    with pytest.raises(ValueError, match=r"x_noise must have shape \(N, 2\)"):
        fm.cfm_loss(_field, x, x_noise=torch.zeros(4, 3))
    with pytest.raises(ValueError, match="unknown coupling 'sinkhorn'"):
        fm.cfm_loss(_field, x, coupling="sinkhorn")
    with pytest.raises(ValueError, match=r"must return shape \(4, 2\)"):
        fm.cfm_loss(lambda x, t: x[:, :1], x)
    with pytest.raises(ValueError, match="t has shape"):
        fm.cfm_loss(_field, x, t=torch.rand(3))
    with pytest.raises(ValueError, match="t must be positive"):
        fm.ideal_velocity(torch.zeros(3, 2), x, 0.0)
    with pytest.raises(ValueError, match="batch first"):
        fm.ideal_velocity(torch.zeros(3, 2), torch.zeros(2), 0.5)
    with pytest.raises(ValueError, match="t_end"):
        fm.sample(_field, x, n_steps=2, t_end=1.0)
    with pytest.raises(ValueError, match="n_steps"):
        fm.sample(_field, x, n_steps=0)
    with pytest.raises(ValueError, match="unknown ODE method"):
        fm.sample(_field, x, method="heun9")
    with pytest.raises(TypeError, match="torch.Tensor"):
        fm.ot_coupling([[0.0, 0.0]], x)


# --- the Chapter 5 exercises: typical mistakes are caught with a helpful message ------------------


def _failure(exercise_id, fn):
    from coursekit.course.exercises import run_checks

    result = run_checks(exercise_id, fn)
    assert result.status == "failed"
    return " ".join(message for _, message in result.failed)


def test_chapter_5_exercises_registered():
    from coursekit.course.exercises import list_exercises

    assert list_exercises("05_flow_matching") == [
        "flow_matching.linear_path",
        "flow_matching.ideal_velocity",
        "flow_matching.cfm_loss",
        "flow_matching.ot_coupling",
    ]  # the order of the notebook


def test_exercise_mistakes_are_caught():
    swapped = lambda x_data, x_noise, t: fm.linear_path(x_noise, x_data, t)  # noqa: E731
    assert "data sit at t = 0" in _failure("flow_matching.linear_path", swapped)

    def mse(velocity, x_data, *, coupling="independent", x_noise=None, t=None, generator=None):
        p = fm.sample_path(x_data, coupling=coupling, x_noise=x_noise, t=t, generator=generator)
        return torch.nn.functional.mse_loss(velocity(p.x_t, p.t), p.target)

    assert "sum the squared error over the d coordinates" in _failure("flow_matching.cfm_loss", mse)

    def global_rng(velocity, x_data, *, coupling="independent", x_noise=None, t=None, generator=None):
        return fm.cfm_loss(velocity, x_data, coupling=coupling, x_noise=x_noise, t=t, generator=None)

    assert "draw x_noise and t" in _failure("flow_matching.cfm_loss", global_rng)

    inverse = lambda x_data, x_noise: torch.argsort(fm.ot_coupling(x_data, x_noise))  # noqa: E731
    assert "inverse" in _failure("flow_matching.ot_coupling", inverse)

    def naive(points, x, t):
        t = torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1, 1)
        w = torch.exp(-((x[:, None] - (1 - t) * points[None]) ** 2).sum(-1) / (2 * t[:, :, 0] ** 2))
        w = w / w.sum(1, keepdim=True)
        return torch.einsum("nm,nmd->nd", w, x[:, None] - points[None]) / t[:, :, 0]

    assert "softmax" in _failure("flow_matching.ideal_velocity", naive)
