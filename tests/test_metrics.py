"""W2 between samples: exact values on translated copies, the chunked mean, clear errors."""

import pytest
import torch

from coursekit.metrics import mean_wasserstein2, wasserstein2


def test_w2_of_a_translated_copy_is_the_translation(gen):
    x = torch.randn(300, 2, generator=gen)
    shift = torch.tensor([0.3, -0.4])
    assert wasserstein2(x, x + shift) == pytest.approx(0.5, abs=1e-6)
    assert wasserstein2(x, x[torch.randperm(300, generator=gen)]) == pytest.approx(0.0, abs=1e-12)


def test_chunked_mean_is_the_mean_of_the_chunks(gen):
    x, y = torch.randn(400, 2, generator=gen), torch.randn(400, 2, generator=gen)
    assert mean_wasserstein2(x, y, chunks=1) == pytest.approx(wasserstein2(x, y))
    expected = sum(wasserstein2(x[i : i + 100], y[i : i + 100]) for i in range(0, 400, 100)) / 4
    assert mean_wasserstein2(x, y, chunks=4) == pytest.approx(expected)
    assert mean_wasserstein2(x, x + torch.tensor([0.6, 0.8]), chunks=4) == pytest.approx(1.0, abs=1e-6)


def test_chunked_mean_varies_less_than_one_w2_between_samples_of_the_same_law():
    g = torch.Generator().manual_seed(0)
    singles, means = [], []
    for _ in range(12):
        x, y = torch.randn(800, 2, generator=g), torch.randn(800, 2, generator=g)
        singles.append(wasserstein2(x, y))
        means.append(mean_wasserstein2(x, y, chunks=4))
    singles, means = torch.tensor(singles), torch.tensor(means)
    assert means.std() / means.mean() < singles.std() / singles.mean()


def test_unequal_or_indivisible_sizes_are_refused():
    with pytest.raises(ValueError, match="same number of points"):
        wasserstein2(torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="divisible by chunks=4"):
        mean_wasserstein2(torch.zeros(10, 2), torch.zeros(10, 2), chunks=4)


# --- numbers with their uncertainty, KL from exact densities, the W2 data floor (issue 15) ---------------

import math  # noqa: E402

from coursekit.data import toys  # noqa: E402
from coursekit.flows.gaussian_ot import GaussianOTMap, gaussian_w2_squared  # noqa: E402
from coursekit.metrics import (  # noqa: E402
    Estimate,
    Spread,
    data_floor,
    kl_divergence,
    model_w2,
    toy_kl_divergence,
)


def test_spread_is_the_mean_and_sample_sd_and_round_trips():
    s = Spread.of([0.2, 0.4, 0.9])
    assert s.mean == pytest.approx(0.5)
    assert s.sd == pytest.approx(torch.tensor([0.2, 0.4, 0.9], dtype=torch.float64).std().item())
    assert Spread.from_dict(s.to_dict()) == s
    one = Spread.of([1.5])
    assert math.isnan(one.sd) and one.to_dict()["sd"] is None and Spread.from_dict(one.to_dict()).mean == 1.5
    assert Spread.of([1.0, 1.1]).separated_from(Spread.of([2.0, 2.1]))
    assert not Spread.of([1.0, 1.4]).separated_from(Spread.of([1.3, 1.5]))
    with pytest.raises(ValueError, match="finite"):
        Spread.of([1.0, math.nan])


def test_estimate_is_the_mean_with_its_standard_error():
    terms = torch.tensor([1.0, 3.0, 2.0, 6.0], dtype=torch.float64)
    e = Estimate.of_terms(terms)
    assert e.value == pytest.approx(3.0) and e.n == 4
    assert e.standard_error == pytest.approx(terms.std().item() / 2)


def test_kl_of_a_model_equal_to_the_data_is_exactly_zero(gen):
    x = toys.sample("8gaussians", 500, generator=gen)
    log_p = toys.log_prob("8gaussians", x)
    result = toy_kl_divergence("8gaussians", x, log_p)
    assert result.kl.value == 0.0 and result.kl.standard_error == 0.0
    assert result.nll.value == pytest.approx(result.entropy.value)  # KL = NLL - H, paired


def _gaussian_kl(mu: float, s: float, d: int) -> float:
    """KL(N(0, I_d) || N(mu 1, s^2 I_d)) in closed form."""
    return 0.5 * (d / s**2 + d * mu**2 / s**2 - d + 2 * d * math.log(s))


def _normal_log_prob(x, mu, s):
    return (-0.5 * ((x - mu) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)).sum(1)


def test_kl_between_two_gaussians_matches_the_closed_form_and_its_error_is_calibrated():
    g = torch.Generator().manual_seed(1)
    mu, s, d, n = 0.5, 1.3, 2, 400
    exact = _gaussian_kl(mu, s, d)
    estimates, errors = [], []
    for _ in range(200):
        x = torch.randn(n, d, generator=g, dtype=torch.float64)
        result = kl_divergence(_normal_log_prob(x, 0.0, 1.0), _normal_log_prob(x, mu, s))
        assert result.kl.value == pytest.approx(result.nll.value - result.entropy.value)
        estimates.append(result.kl.value)
        errors.append(result.kl.standard_error)
    estimates = torch.tensor(estimates)
    # unbiased: the mean of 200 estimates is within 4 of its standard errors of the closed form
    assert abs(estimates.mean().item() - exact) < 4 * estimates.std().item() / math.sqrt(200)
    # calibrated: the reported standard error equals the actual spread of the estimate (within 15%)
    assert sum(errors) / len(errors) == pytest.approx(estimates.std().item(), rel=0.15)
    # and one estimate lies within 3 standard errors of the truth
    assert abs(estimates[0].item() - exact) < 3 * errors[0]


def test_kl_refuses_points_the_data_cannot_produce_and_datasets_without_a_density(gen):
    outside = torch.tensor([[3.0, -3.0], [0.5, 0.5]])  # column 3, row 0: a white square of the board
    assert torch.isinf(toys.log_prob("checkerboard", outside)).any()
    with pytest.raises(ValueError, match="drawn from the data"):
        toy_kl_divergence("checkerboard", outside, torch.zeros(2))
    with pytest.raises(ValueError, match="closed-form density.*8gaussians"):
        toy_kl_divergence("moons", torch.zeros(2, 2), torch.zeros(2))
    with pytest.raises(ValueError, match="same points"):
        kl_divergence(torch.zeros(3), torch.zeros(4))


def test_w2_of_a_gaussian_sample_and_its_ot_image_is_the_closed_form():
    g = torch.Generator().manual_seed(2)
    mean1, cov1 = (
        torch.tensor([1.0, -2.0], dtype=torch.float64),
        torch.tensor([[2.0, 0.6], [0.6, 0.5]], dtype=torch.float64),
    )
    mean0, cov0 = torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
    transport = GaussianOTMap.between(mean0, cov0, mean1, cov1)
    x = torch.randn(1500, 2, generator=g, dtype=torch.float64)
    exact = math.sqrt(gaussian_w2_squared(mean0, cov0, mean1, cov1))
    # the OT map is the gradient of a convex function, so it is the optimal assignment of x to T(x):
    # the empirical W2^2 is the sample mean of |x - T(x)|^2, an estimate of the closed form (CLT, 2%).
    assert wasserstein2(x, transport(x)) == pytest.approx(exact, rel=0.02)
    # between independent samples the W2 is off by at most about the data floors of the two laws
    y = transport(torch.randn(1500, 2, generator=g, dtype=torch.float64))
    floor = data_floor(lambda n, gen: torch.randn(n, 2, generator=gen, dtype=torch.float64), 1500, draws=3)
    assert abs(wasserstein2(x, y) - exact) < 2 * (floor.mean + floor.sd) * max(1.0, math.sqrt(2.0))


def test_w2_in_one_dimension_is_the_distance_of_the_sorted_samples(gen):
    x, y = torch.randn(700, 1, generator=gen), 0.5 * torch.randn(700, 1, generator=gen) + 1
    sorted_distance = ((x.double().sort(0).values - y.double().sort(0).values) ** 2).mean().sqrt().item()
    assert wasserstein2(x, y) == pytest.approx(sorted_distance, rel=1e-9)


def test_data_floor_is_one_fixed_definition_and_shrinks_with_the_sample_size():
    floor = data_floor("8gaussians", 300, draws=4)
    assert floor.n == 4 and floor.sd > 0
    assert data_floor("8gaussians", 300, draws=4) == floor  # the same number wherever it is asked for
    by_hand = data_floor(lambda n, g: toys.sample("8gaussians", n, generator=g, dtype=torch.float64), 300, draws=4)
    assert by_hand == floor  # the definition: pair k drawn from the seed FLOOR_SEED + k
    assert data_floor("8gaussians", 1200, draws=4).mean < floor.mean  # identical laws: W2 -> 0 as n grows
    with pytest.raises(ValueError, match="at least 2"):
        data_floor("8gaussians", 300, draws=1)


def test_model_w2_of_a_perfect_sampler_is_at_its_floor_and_small_samples_are_refused():
    g = torch.Generator().manual_seed(5)
    normal = lambda n, gen: torch.randn(n, 2, generator=gen, dtype=torch.float64)  # noqa: E731
    report = model_w2(normal(2000, g), normal(2000, g), normal, draws=3)
    assert report.n == 2000 and abs(report.w2 - report.floor.mean) < 4 * report.floor.sd
    shifted = model_w2(normal(2000, g) + 1.0, normal(2000, g), normal, draws=3)
    assert not shifted.at_floor and shifted.w2 > math.sqrt(2) * 0.9
    assert "data floor" in str(report)
    with pytest.raises(ValueError, match="at least 2000 points"):
        model_w2(torch.zeros(500, 2), torch.zeros(500, 2), normal)
