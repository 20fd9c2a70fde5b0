"""Tests for coursekit.data.toys: exact sizes, reproducibility, labels, exact densities, FFJORD's scales."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from coursekit.data import toys
from coursekit.data.toys import DATASETS, has_log_prob, log_prob, mixture, num_classes, sample, sample_labelled
from coursekit.density.mixtures import GaussianMixture


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def ffjord_reference(name: str, n: int, rng: np.random.RandomState) -> np.ndarray:
    """FFJORD's toy distributions (Grathwohl et al. 2018, lib/toy_data.py) written in numpy, seeded."""
    if name == "8gaussians":
        angle = rng.randint(8, size=n) * np.pi / 4
        return (4 * np.stack([np.cos(angle), np.sin(angle)], 1) + 0.5 * rng.randn(n, 2)) / 1.414
    if name == "moons":
        from sklearn.datasets import make_moons

        return make_moons(n_samples=n, noise=0.1, random_state=rng)[0] * 2 + np.array([-1, -0.2])
    if name == "checkerboard":
        x1 = rng.rand(n) * 4 - 2
        x2 = rng.rand(n) - rng.randint(0, 2, n) * 2 + np.floor(x1) % 2
        return np.stack([x1, x2], 1) * 2
    if name == "2spirals":
        t = np.sqrt(rng.rand(n // 2, 1)) * 3 * np.pi
        arm = np.hstack([-np.cos(t) * t, np.sin(t) * t]) + rng.rand(n // 2, 2) * 0.5
        return np.vstack([arm, -arm]) / 3 + rng.randn(2 * (n // 2), 2) * 0.1
    if name == "rings":
        angle = np.linspace(0, 2 * np.pi, n // 4, endpoint=False)
        circle = np.stack([np.cos(angle), np.sin(angle)], 1)
        return np.vstack([r * 3 * circle for r in (1.0, 0.75, 0.5, 0.25)]) + rng.normal(
            scale=0.08, size=(4 * (n // 4), 2)
        )
    assert name == "pinwheel"
    feat = rng.randn(n, 2) * np.array([0.3, 0.1])
    feat[:, 0] += 1
    angle = np.repeat(np.arange(5), n // 5) * 2 * np.pi / 5 + 0.25 * np.exp(feat[:, 0])
    rot = np.stack([np.cos(angle), -np.sin(angle), np.sin(angle), np.cos(angle)], 1).reshape(-1, 2, 2)
    return 2 * np.einsum("ti,tij->tj", feat, rot)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("n", [1, 7, 100, 1001])
def test_exactly_n_points_and_labels_in_range(name: str, n: int) -> None:
    x, labels = sample_labelled(name, n, generator=gen(n))
    assert x.shape == (n, 2) and labels.shape == (n,)
    assert x.dtype == torch.get_default_dtype() and labels.dtype == torch.long
    assert torch.isfinite(x).all()
    assert labels.min() >= 0 and labels.max() < num_classes(name)
    assert sample(name, n, generator=gen(n)).shape == (n, 2)


@pytest.mark.parametrize("name", DATASETS)
def test_dtype_device_and_float32_is_rounded_float64(name: str) -> None:
    x64 = sample(name, 50, generator=gen(0), dtype=torch.float64, device="cpu")
    x32 = sample(name, 50, generator=gen(0), dtype=torch.float32, device=torch.device("cpu"))
    assert x64.dtype == torch.float64 and x32.dtype == torch.float32 and x32.device.type == "cpu"
    assert torch.equal(x32, x64.float())
    with pytest.raises(TypeError, match="floating dtype"):
        sample(name, 5, dtype=torch.int64)


@pytest.mark.parametrize("name", DATASETS)
def test_reproducible_without_touching_global_state(name: str) -> None:
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    a, la = sample_labelled(name, 300, generator=gen(1))
    b, lb = sample_labelled(name, 300, generator=gen(1))
    c = sample(name, 300, generator=gen(2))
    assert torch.equal(a, b) and torch.equal(la, lb) and not torch.equal(a, c)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np_after = np.random.get_state()
    assert np_after[0] == np_state[0] and np.array_equal(np_after[1], np_state[1]) and np_after[2:] == np_state[2:]


@pytest.mark.parametrize("name", DATASETS)
def test_matches_ffjord_scales(name: str) -> None:
    # 1-D Wasserstein distances between projections on 8 directions, ours vs FFJORD's recipe with
    # 20000 points each. Two FFJORD samples of different seeds give at most ~0.06; a wrong scale,
    # rotation or mirror image gives > 0.15.
    ours = sample(name, 20_000, generator=gen(3), dtype=torch.float64).numpy()
    ref = ffjord_reference(name, 20_000, np.random.RandomState(3))
    for angle in np.linspace(0, np.pi, 8, endpoint=False):
        u = np.array([np.cos(angle), np.sin(angle)])
        assert wasserstein_distance(ours @ u, ref @ u) < 0.1, f"direction {angle:.2f}"


def test_ffjord_comparison_detects_a_mirrored_pinwheel() -> None:
    # The check above is sharp enough to see the chirality of the pinwheel.
    ours = sample("pinwheel", 20_000, generator=gen(3), dtype=torch.float64).numpy() * np.array([1, -1])
    ref = ffjord_reference("pinwheel", 20_000, np.random.RandomState(3))
    dist = [
        wasserstein_distance(ours @ [np.cos(a), np.sin(a)], ref @ [np.cos(a), np.sin(a)])
        for a in np.linspace(0, np.pi, 8)
    ]
    assert max(dist) > 0.15  # about 0.23, against at most ~0.06 for two correct samples


def test_eight_gaussians_scale_and_labels() -> None:
    x, labels = sample_labelled("8gaussians", 20_000, generator=gen(4), dtype=torch.float64)
    std = 0.5 / 1.414
    radius = x.norm(dim=1)
    assert abs(float(radius.mean()) - 4 / 1.414) < 0.02
    assert float(radius.max()) < 4 / 1.414 + 5 * std  # 5 std: P(exceed) ~ 20000 * exp(-12.5) ~ 0.07
    modes = mixture("8gaussians", dtype=torch.float64).means
    nearest = torch.cdist(x, modes).argmin(dim=1)
    # adjacent modes are 2.16 apart, so a point crosses the midline with probability 2 P(Z > 3.06) ~ 0.002
    assert (nearest == labels).double().mean() > 0.99
    torch.testing.assert_close(modes[2], torch.tensor([0.0, 4 / 1.414], dtype=torch.float64))  # angular order


def test_eight_gaussians_log_prob_and_entropy() -> None:
    x = sample("8gaussians", 200_000, generator=gen(5), dtype=torch.float64)
    mix = mixture("8gaussians", dtype=torch.float64)
    assert isinstance(mix, GaussianMixture) and mix.num_components == 8
    torch.testing.assert_close(log_prob("8gaussians", x), mix.log_prob(x))
    # Independent formula: uniform mixture of 8 isotropic Gaussians, means 4 c_k / 1.414, std 0.5 / 1.414.
    s = 0.5 / 1.414
    angle = torch.arange(8, dtype=torch.float64) * math.pi / 4
    centers = 4 / 1.414 * torch.stack([angle.cos(), angle.sin()], 1)
    sq = torch.cdist(x[:1000], centers) ** 2
    manual = torch.logsumexp(-sq / (2 * s * s), dim=1) - math.log(8 * 2 * math.pi * s * s)
    torch.testing.assert_close(log_prob("8gaussians", x[:1000]), manual)
    # Monte-Carlo entropy -E[log p]: well-separated modes give log 8 + log(2 pi e s^2) = 2.838 nats;
    # std error = std(log p) / sqrt(n) ~ 1 / 450 = 0.002. FFJORD reports about 2.82.
    entropy = -float(log_prob("8gaussians", x).mean())
    assert abs(entropy - (math.log(8) + math.log(2 * math.pi * math.e * s * s))) < 0.01
    assert abs(entropy - 2.82) < 0.03
    assert log_prob("8gaussians", x[:3].float()).dtype == torch.float32  # follows x


def test_checkerboard_density_and_labels() -> None:
    x, labels = sample_labelled("checkerboard", 40_000, generator=gen(6), dtype=torch.float64)
    lp = log_prob("checkerboard", x)
    assert torch.isfinite(lp).all() and torch.allclose(lp, torch.full_like(lp, -math.log(32)))
    assert (x.abs() <= 4).all()
    freq = torch.bincount(labels, minlength=8).double() / len(labels)
    assert ((freq - 1 / 8).abs() < 4 * math.sqrt(1 / 8 * 7 / 8 / len(labels))).all()
    # each label is one square: its points span exactly a 2 x 2 box
    for k in range(8):
        pts = x[labels == k]
        assert ((pts.amax(0) - pts.amin(0)) <= 2).all() and ((pts.amax(0) - pts.amin(0)) > 1.95).all()
    # midpoint rule on cells of side 0.01 aligned with the squares' edges: exact up to rounding
    h = 0.01
    centres = torch.arange(-4.5 + h / 2, 4.5, h, dtype=torch.float64)
    xx, yy = torch.meshgrid(centres, centres, indexing="ij")
    mass = log_prob("checkerboard", torch.stack([xx.flatten(), yy.flatten()], 1)).exp().sum() * h * h
    assert abs(float(mass) - 1.0) < 1e-9
    out = log_prob("checkerboard", torch.tensor([[-3.0, -1.0], [5.0, 0.5], [0.5, 0.5], [-0.5, 0.5]]))
    assert torch.equal(out.isinf(), torch.tensor([True, True, False, True]))


@pytest.mark.parametrize("name", DATASETS)
def test_labels_are_spatially_coherent(name: str) -> None:
    # A point's nearest neighbour almost always carries the same label when labels mark modes,
    # moons, squares, arms or rings; random labels would agree for only ~1 / num_classes.
    x, labels = sample_labelled(name, 4000, generator=gen(7), dtype=torch.float64)
    dist = torch.cdist(x, x)
    dist.fill_diagonal_(math.inf)
    agree = (labels[dist.argmin(dim=1)] == labels).double().mean()
    assert agree > 0.9, float(agree)


def test_specific_label_meanings() -> None:
    x, labels = sample_labelled("moons", 2000, generator=gen(8))
    assert x[labels == 0, 1].mean() > x[labels == 1, 1].mean()  # moon 0 is the upper one
    x, labels = sample_labelled("rings", 2000, generator=gen(8), dtype=torch.float64)
    ring = torch.round(x.norm(dim=1) / 0.75 - 1).clamp(0, 3).long()
    assert (ring == labels).double().mean() > 0.99  # radii 0.75, 1.5, 2.25, 3 with noise 0.08
    assert torch.equal(torch.bincount(labels), torch.full((4,), 500))
    _, labels = sample_labelled("pinwheel", 1003, generator=gen(8))
    assert sorted(torch.bincount(labels).tolist()) == [200, 200, 201, 201, 201]
    _, labels = sample_labelled("2spirals", 7, generator=gen(8))
    assert sorted(torch.bincount(labels, minlength=2).tolist()) == [3, 4]


def test_num_classes_and_has_log_prob() -> None:
    assert [num_classes(name) for name in DATASETS] == [8, 2, 8, 2, 4, 5]
    assert [name for name in DATASETS if has_log_prob(name)] == ["8gaussians", "checkerboard"]
    assert set(toys.__all__) <= set(dir(toys))


def test_errors() -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown dataset 'two_spirals'; valid names: \['2spirals', '8gaussians', "
        r"'checkerboard', 'moons', 'pinwheel', 'rings'\]\. Did you mean '2spirals'\?",
    ):
        sample("two_spirals", 10)
    with pytest.raises(ValueError, match=r"Did you mean '8gaussians'"):
        sample("eight_gaussians", 10)
    with pytest.raises(ValueError, match=r"unknown dataset 'zzz'; valid names: \[.*\]\.$"):  # no close name
        num_classes("zzz")
    with pytest.raises(TypeError, match="name must be a str"):
        sample(3, 10)  # type: ignore[arg-type]
    for bad in (0, -5):
        with pytest.raises(ValueError, match="n must be a positive int"):
            sample("moons", bad)
    with pytest.raises(TypeError, match="n must be an int"):
        sample("moons", 10.0)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match="no closed-form density for 'moons'"):
        log_prob("moons", torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        log_prob("checkerboard", torch.zeros(3, 3))
    with pytest.raises(ValueError, match="not a Gaussian mixture"):
        mixture("rings")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", DATASETS)
def test_cuda_with_cpu_and_cuda_generators(name: str) -> None:
    x, labels = sample_labelled(name, 1001, generator=gen(9), device="cuda")
    assert x.device.type == "cuda" and labels.device.type == "cuda"
    assert torch.equal(x.cpu(), sample(name, 1001, generator=gen(9)))  # a CPU generator: same points anywhere
    g = torch.Generator(device="cuda").manual_seed(9)
    x, labels = sample_labelled(name, 1001, generator=g, device="cuda")
    assert x.shape == (1001, 2) and x.device.type == "cuda" and labels.max() < num_classes(name)
    if has_log_prob(name):
        assert log_prob(name, x).device.type == "cuda"
