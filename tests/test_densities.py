"""Tests for coursekit.density.mixtures: exact log-density, score, noising and sampling of Gaussian mixtures."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

from coursekit.density import noised
from coursekit.density.mixtures import GaussianMixture, noised_log_prob, noised_score
from coursekit.density.noised import mixture_posterior
from coursekit.density.point_cloud import point_cloud_log_prob, point_cloud_posterior, point_cloud_score

F64 = torch.float64


def random_spd(k: int, d: int, g: torch.Generator) -> torch.Tensor:
    """K random symmetric positive-definite matrices, shape (K, d, d), eigenvalues >= 0.2."""
    a = torch.randn(k, d, d, generator=g, dtype=F64)
    return a @ a.mT / d + 0.2 * torch.eye(d, dtype=F64)


@pytest.fixture
def gmm() -> GaussianMixture:
    """A 3-component 2D mixture with full covariances and unequal weights, float64."""
    g = torch.Generator().manual_seed(0)
    means = torch.tensor([[-2.0, 0.5], [1.5, 1.0], [0.0, -2.0]], dtype=F64)
    return GaussianMixture(means, random_spd(3, 2, g), torch.tensor([0.2, 0.5, 0.3], dtype=F64))


def reference(mix: GaussianMixture) -> MixtureSameFamily:
    """The same mixture built with torch.distributions (an independent implementation)."""
    return MixtureSameFamily(Categorical(probs=mix.weights), MultivariateNormal(mix.means, mix.covariances))


def test_log_prob_matches_torch_distributions(gmm: GaussianMixture) -> None:
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(1), dtype=F64) * 3
    torch.testing.assert_close(gmm.log_prob(x), reference(gmm).log_prob(x), rtol=1e-12, atol=1e-12)


def test_log_prob_integrates_to_one(gmm: GaussianMixture) -> None:
    # Trapezoid rule on [-9, 9]^2 with step 0.03: the smallest std is >= sqrt(0.2) ~ 0.45 = 15 steps,
    # so the O(h^2) error and the mass outside the box (> 9 std away) are far below 1e-6.
    grid = torch.linspace(-9, 9, 601, dtype=F64)
    xx, yy = torch.meshgrid(grid, grid, indexing="ij")
    density = gmm.log_prob(torch.stack([xx.flatten(), yy.flatten()], 1)).exp().reshape(601, 601)
    mass = torch.trapezoid(torch.trapezoid(density, grid, dim=1), grid)
    assert abs(float(mass) - 1.0) < 1e-6


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_score_equals_autograd_of_log_prob(dim: int) -> None:
    g = torch.Generator().manual_seed(dim)
    mix = GaussianMixture(torch.randn(4, dim, generator=g, dtype=F64) * 2, random_spd(4, dim, g))
    x = (torch.randn(64, dim, generator=g, dtype=F64) * 3).requires_grad_(True)
    (grad,) = torch.autograd.grad(mix.log_prob(x).sum(), x)
    torch.testing.assert_close(mix.score(x), grad, rtol=1e-8, atol=1e-8)


def test_noised_single_gaussian_closed_form() -> None:
    g = torch.Generator().manual_seed(2)
    mean, cov = torch.tensor([[1.0, -2.0, 0.5]], dtype=F64), random_spd(1, 3, g)
    alpha, sigma = 0.6, 0.8
    noised = GaussianMixture(mean, cov).noised(alpha, sigma)
    cov_t = alpha**2 * cov[0] + sigma**2 * torch.eye(3, dtype=F64)
    torch.testing.assert_close(noised.means, alpha * mean)
    torch.testing.assert_close(noised.covariances[0], cov_t)
    x = torch.randn(20, 3, generator=g, dtype=F64)
    exact = MultivariateNormal(alpha * mean[0], cov_t)
    torch.testing.assert_close(noised.log_prob(x), exact.log_prob(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(noised.score(x), -(x - alpha * mean) @ torch.linalg.inv(cov_t), rtol=1e-10, atol=1e-12)


def test_noised_at_alpha_zero_is_the_gaussian_reference(gmm: GaussianMixture) -> None:
    """alpha = 0 forgets the data: p = N(0, sigma^2 I), score -x / sigma^2, per sample beside alpha > 0 rows."""
    g = torch.Generator().manual_seed(21)
    x = torch.randn(8, 2, generator=g, dtype=F64) * 2
    alpha = torch.tensor([0.0, 0.7] * 4, dtype=F64)
    sigma = torch.tensor([0.8, 0.5] * 4, dtype=F64)
    log_p, score = noised_log_prob(gmm, x, alpha, sigma), noised_score(gmm, x, alpha, sigma)
    reference = MultivariateNormal(torch.zeros(2, dtype=F64), 0.64 * torch.eye(2, dtype=F64))
    torch.testing.assert_close(log_p[0::2], reference.log_prob(x[0::2]), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(score[0::2], -x[0::2] / 0.64, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(log_p[1::2], gmm.noised(0.7, 0.5).log_prob(x[1::2]), rtol=1e-12, atol=1e-12)


def test_noised_accepts_zero_dim_tensors(gmm: GaussianMixture) -> None:
    a = gmm.noised(torch.tensor(0.5), torch.tensor(0.0))
    torch.testing.assert_close(a.covariances, 0.25 * gmm.covariances)


def test_noised_matches_noised_samples(gmm: GaussianMixture) -> None:
    # x_t = alpha x_0 + sigma eps has mean alpha * m and covariance alpha^2 C + sigma^2 I,
    # where (m, C) are the moments of the mixture; compare sample means within 4 standard errors.
    g = torch.Generator().manual_seed(3)
    n, alpha, sigma = 200_000, 0.7, 0.5
    x_t = alpha * gmm.sample(n, generator=g) + sigma * torch.randn(n, 2, generator=g, dtype=F64)
    noised = gmm.noised(alpha, sigma)
    mean = noised.weights @ noised.means
    se = x_t.std(0) / math.sqrt(n)
    assert ((x_t.mean(0) - mean).abs() < 4 * se).all()
    second = (
        noised.weights[:, None, None] * (noised.covariances + noised.means[:, :, None] * noised.means[:, None])
    ).sum(0)
    torch.testing.assert_close(torch.cov(x_t.T), second - mean[:, None] * mean, rtol=0, atol=0.05)


def test_noised_score_per_sample_equals_rowwise_noised(gmm: GaussianMixture) -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.randn(16, 2, generator=g, dtype=F64) * 2
    alpha = torch.rand(16, generator=g, dtype=F64) + 0.05
    sigma = torch.rand(16, generator=g, dtype=F64)
    sigma[0] = 0.0  # the data itself
    score, logp = noised_score(gmm, x, alpha, sigma), noised_log_prob(gmm, x, alpha, sigma)
    assert score.shape == (16, 2) and logp.shape == (16,)
    for i in range(16):
        row = gmm.noised(float(alpha[i]), float(sigma[i]))
        torch.testing.assert_close(score[i : i + 1], row.score(x[i : i + 1]), rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(logp[i : i + 1], row.log_prob(x[i : i + 1]), rtol=1e-12, atol=1e-12)
        ref = reference(row).log_prob(x[i : i + 1])  # independent implementation
        torch.testing.assert_close(logp[i : i + 1], ref, rtol=1e-10, atol=1e-10)


def test_noised_score_scalar_and_autograd(gmm: GaussianMixture) -> None:
    x = (torch.randn(32, 2, generator=torch.Generator().manual_seed(5), dtype=F64) * 2).requires_grad_(True)
    alpha, sigma = torch.linspace(0.1, 1.0, 32, dtype=F64), torch.linspace(1.0, 0.0, 32, dtype=F64)
    (grad,) = torch.autograd.grad(noised_log_prob(gmm, x, alpha, sigma).sum(), x)
    torch.testing.assert_close(noised_score(gmm, x, alpha, sigma), grad, rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(noised_score(gmm, x, 0.3, 0.9), gmm.noised(0.3, 0.9).score(x))
    torch.testing.assert_close(noised_score(gmm, x, 1.0, 0.0), gmm.score(x))


def test_sample_moments_and_labels(gmm: GaussianMixture) -> None:
    n = 100_000
    x, labels = gmm.sample_with_labels(n, generator=torch.Generator().manual_seed(6))
    assert x.shape == (n, 2) and x.dtype == F64 and labels.dtype == torch.long
    mean = gmm.weights @ gmm.means
    assert ((x.mean(0) - mean).abs() < 4 * x.std(0) / math.sqrt(n)).all()  # within 4 standard errors
    freq = torch.bincount(labels, minlength=3).to(F64) / n
    w = gmm.weights
    assert ((freq - w).abs() < 4 * (w * (1 - w) / n).sqrt()).all()
    for k in range(3):  # each component's samples have that component's covariance
        torch.testing.assert_close(torch.cov(x[labels == k].T), gmm.covariances[k], rtol=0, atol=0.05)


def test_sample_reproducible_and_leaves_global_rng_alone(gmm: GaussianMixture) -> None:
    state = torch.get_rng_state()
    a = gmm.sample(100, generator=torch.Generator().manual_seed(7))
    b = gmm.sample(100, generator=torch.Generator().manual_seed(7))
    c = gmm.sample(100, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(torch.get_rng_state(), state)


def test_isotropic_constructor_and_weight_normalisation() -> None:
    means = torch.tensor([[0.0, 0.0], [3.0, 1.0]], dtype=F64)
    iso = GaussianMixture.isotropic(means, torch.tensor([0.5, 2.0], dtype=F64), torch.tensor([1.0, 3.0], dtype=F64))
    full = GaussianMixture(means, torch.stack([0.25 * torch.eye(2), 4.0 * torch.eye(2)]).to(F64))
    torch.testing.assert_close(iso.covariances, full.covariances)
    torch.testing.assert_close(iso.weights, torch.tensor([0.25, 0.75], dtype=F64))
    torch.testing.assert_close(full.weights, torch.tensor([0.5, 0.5], dtype=F64))
    assert GaussianMixture.isotropic(means, 1.0).covariances.shape == (2, 2, 2)


def test_dtype_device_and_to(gmm: GaussianMixture) -> None:
    f32 = gmm.to(dtype=torch.float32)
    assert f32.dtype == torch.float32 and f32.device == gmm.device
    x = torch.randn(5, 2, dtype=F64)
    assert f32.log_prob(x).dtype == torch.float32  # computed in the mixture's dtype
    assert gmm.score(x.float()).dtype == F64
    torch.testing.assert_close(f32.log_prob(x.float()), gmm.log_prob(x).float(), rtol=1e-5, atol=1e-5)
    assert GaussianMixture.isotropic([[0, 1]], 1).dtype == torch.get_default_dtype()
    with pytest.raises(ValueError, match="mixture is on"):
        gmm.log_prob(torch.zeros(3, 2, dtype=F64, device="meta"))


def test_immutable(gmm: GaussianMixture) -> None:
    with pytest.raises(AttributeError, match="immutable"):
        gmm.means = torch.zeros(3, 2)  # type: ignore[misc]
    gmm.means.add_(100.0)  # properties return copies
    assert gmm.means.abs().max() < 10
    assert torch.equal(copy.deepcopy(gmm).covariances, gmm.covariances)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"means": torch.zeros(3)}, "means must have shape"),
        ({"means": torch.zeros(2, 2), "covariances": torch.eye(2).expand(3, 2, 2)}, r"covariances must have shape"),
        ({"means": torch.zeros(2, 2), "covariances": torch.eye(2)}, "covariances must have shape"),
        ({"means": torch.zeros(2, 2), "stds": torch.ones(3)}, "stds must be a scalar or have shape"),
        ({"means": torch.zeros(2, 2), "stds": -1.0}, "stds must be positive"),
        ({"means": torch.zeros(2, 2)}, "exactly one of"),
        ({"means": torch.zeros(2, 2), "stds": 1.0, "covariances": torch.eye(2).expand(2, 2, 2)}, "exactly one of"),
        ({"means": torch.zeros(2, 2), "stds": 1.0, "weights": torch.ones(3)}, "weights must have shape"),
        ({"means": torch.zeros(2, 2), "stds": 1.0, "weights": torch.tensor([1.0, -0.5])}, "non-negative"),
        ({"means": torch.zeros(2, 2), "stds": 1.0, "weights": torch.zeros(2)}, "positive sum"),
        ({"means": torch.zeros(1, 2), "covariances": torch.tensor([[[1.0, 0.5], [0.0, 1.0]]])}, "symmetric"),
        ({"means": torch.zeros(2, 2), "covariances": torch.stack([torch.eye(2), -torch.eye(2)])}, r"components \[1\]"),
        ({"means": torch.tensor([[math.nan, 0.0]]), "stds": 1.0}, "finite"),
    ],
)
def test_bad_parameters_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GaussianMixture(**kwargs)


def test_bad_inputs_raise(gmm: GaussianMixture) -> None:
    x = torch.zeros(4, 2, dtype=F64)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        gmm.log_prob(torch.zeros(4, 3, dtype=F64))
    with pytest.raises(ValueError, match="batch first"):
        gmm.score(torch.zeros(2, dtype=F64))
    with pytest.raises(ValueError, match=r"alpha must be a scalar or have shape \(N,\) = \(4,\)"):
        noised_score(gmm, x, torch.ones(3), 0.5)
    with pytest.raises(ValueError, match="sigma must be non-negative"):
        noised_log_prob(gmm, x, 1.0, torch.tensor([0.1, -0.1, 0.1, 0.1]))
    with pytest.raises(ValueError, match="alpha must be non-negative"):
        noised_score(gmm, x, -0.1, 1.0)
    with pytest.raises(ValueError, match="sigma must be positive where alpha = 0"):
        noised_log_prob(gmm, x, torch.tensor([1.0, 0.0, 1.0, 1.0]), torch.tensor([0.5, 0.0, 0.0, 0.5]))
    with pytest.raises(ValueError, match="alpha"):
        gmm.noised(-1.0, 0.5)
    with pytest.raises(ValueError, match="sigma"):
        gmm.noised(1.0, -0.5)
    with pytest.raises(ValueError, match="n must be a positive int"):
        gmm.sample(0)
    with pytest.raises(TypeError, match="n must be an int"):
        gmm.sample(10.0)  # type: ignore[arg-type]


# --- posterior weights: the one softmax behind every exact score ----------------------------------


def test_posterior_weights_are_bayes_rule(gmm: GaussianMixture) -> None:
    """r_k(x) = w_k N(x; alpha mu_k, alpha^2 Sigma_k + sigma^2 I) / p_t(x), by torch.distributions."""
    g = torch.Generator().manual_seed(11)
    x = torch.randn(40, 2, generator=g, dtype=F64) * 2
    alpha, sigma = torch.rand(40, generator=g, dtype=F64) * 0.9 + 0.1, torch.rand(40, generator=g, dtype=F64)
    post = mixture_posterior(
        x,
        gmm.means,
        alpha,
        sigma,
        log_weights=gmm.weights.log(),
        eigenvalues=gmm.eigenvalues,
        eigenvectors=gmm.eigenvectors,
    )
    cov = alpha[:, None, None, None] ** 2 * gmm.covariances + sigma[:, None, None, None] ** 2 * torch.eye(2, dtype=F64)
    joint = gmm.weights.log() + MultivariateNormal(alpha[:, None, None] * gmm.means, cov).log_prob(x[:, None, :])
    torch.testing.assert_close(post.weights, torch.softmax(joint, 1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(post.log_prob, torch.logsumexp(joint, 1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(post.score, noised_score(gmm, x, alpha, sigma), rtol=0, atol=0)


def test_a_point_cloud_is_the_mixture_with_point_components() -> None:
    """The cloud's log-density and score equal those of the mixture of N(alpha y_j, sigma^2 I)."""
    g = torch.Generator().manual_seed(12)
    points, x = torch.randn(7, 3, generator=g, dtype=F64), torch.randn(9, 3, generator=g, dtype=F64)
    mix = GaussianMixture.isotropic(0.8 * points, 0.6)  # the cloud noised with alpha = 0.8, sigma = 0.6
    torch.testing.assert_close(point_cloud_log_prob(points, x, 0.8, 0.6), mix.log_prob(x))
    torch.testing.assert_close(point_cloud_score(points, x, 0.8, 0.6), mix.score(x))
    torch.testing.assert_close(point_cloud_posterior(points, x, 0.8, 0.6).weights.sum(1), torch.ones(9, dtype=F64))


def test_chunking_does_not_change_the_result(gmm: GaussianMixture, monkeypatch) -> None:
    x = torch.randn(10, 2, generator=torch.Generator().manual_seed(13), dtype=F64)
    alpha = torch.linspace(0.2, 1, 10, dtype=F64)
    whole = noised_log_prob(gmm, x, alpha, 0.3), noised_score(gmm, x, alpha, 0.3)
    monkeypatch.setattr(noised, "_CHUNK", 6)  # 6 // (3 * 2) = 1 point per chunk
    torch.testing.assert_close(noised_log_prob(gmm, x, alpha, 0.3), whole[0])
    torch.testing.assert_close(noised_score(gmm, x, alpha, 0.3), whole[1])


def _weights_by_expanding_the_square(points, x, alpha, sigma):
    """The formula this library no longer uses: ||x||^2 - 2 alpha x.y + alpha^2 ||y||^2."""
    sq = (x**2).sum(1, keepdim=True) - 2 * alpha * (x @ points.T) + alpha**2 * (points**2).sum(1)[None]
    return torch.softmax(-sq.clamp_min(0) / (2 * sigma**2), dim=1)


def test_float32_weights_survive_small_noise_where_the_expanded_square_fails() -> None:
    """Six points within a few sigma = 1e-3 of each other, 10 from the origin, in float32.

    Expanding the square cancels terms of size |x|^2 = 81 to leave distances of size sigma^2 = 1e-6:
    float32 keeps about 81 * 6e-8 = 5e-6 of absolute error, which divided by 2 sigma^2 shifts the
    logits by several units, so the weights are wrong by O(1). Differences x - alpha y_j are exact
    to float32 rounding of numbers of size sigma, and the weights stay within 1e-3 of float64.
    """
    g = torch.Generator().manual_seed(0)
    sigma, alpha, center = 1e-3, 0.9, torch.tensor([8.0, -6.0])
    points = center + sigma * torch.randn(6, 2, generator=g)
    x = alpha * center + sigma * torch.randn(5, 2, generator=g)
    exact = _weights_by_expanding_the_square(points.double(), x.double(), alpha, sigma)  # float64: no cancellation
    assert exact.max(1).values.max() < 0.9  # the weights are spread: a real test of their values
    torch.testing.assert_close(point_cloud_posterior(points.double(), x.double(), alpha, sigma).weights, exact)
    ours = point_cloud_posterior(points, x, alpha, sigma).weights
    assert ours.dtype == torch.float32 and (ours.double() - exact).abs().max() < 1e-3
    assert (_weights_by_expanding_the_square(points, x, alpha, sigma).double() - exact).abs().max() > 0.1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda(gmm: GaussianMixture) -> None:
    cuda = gmm.to("cuda")
    x = torch.randn(64, 2, dtype=F64)
    alpha, sigma = torch.rand(64, dtype=F64) + 0.1, torch.rand(64, dtype=F64)
    got = noised_score(cuda, x.cuda(), alpha.cuda(), sigma.cuda())
    torch.testing.assert_close(got.cpu(), noised_score(gmm, x, alpha, sigma))
    assert cuda.sample(10, generator=torch.Generator().manual_seed(0)).device.type == "cuda"
    assert cuda.sample(10, generator=torch.Generator(device="cuda").manual_seed(0)).device.type == "cuda"
