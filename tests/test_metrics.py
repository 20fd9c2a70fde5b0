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
