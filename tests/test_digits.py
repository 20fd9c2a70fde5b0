"""The 8x8 digits (Chapter 7): loading, splitting, judging samples."""

import pytest
import torch

from coursekit.data import digits


def test_load_digits_scales_to_minus_one_one():
    x, y = digits.load_digits(dtype=torch.float64)
    assert x.shape == (1797, 64) and y.shape == (1797,) and x.dtype == torch.float64
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    assert torch.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_split_is_a_partition():
    x, y = digits.load_digits()
    gen = torch.Generator().manual_seed(0)
    x_train, y_train, x_test, y_test = digits.split(x, y, test_fraction=0.25, generator=gen)
    assert x_test.shape[0] == 449 and x_train.shape[0] == 1797 - 449
    combined = torch.cat([x_train, x_test])
    assert torch.equal(combined.sum(0), x.sum(0)) and torch.equal(
        torch.cat([y_train, y_test]).sort().values, y.sort().values
    )


def test_nearest_distance_is_zero_on_the_training_set_and_matches_brute_force():
    x, _ = digits.load_digits(dtype=torch.float64)
    assert torch.equal(digits.nearest_distance(x[:50], x), torch.zeros(50, dtype=torch.float64))
    q = torch.randn(7, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    brute = torch.stack([min((qi - r).norm() for r in x[:300]) for qi in q])
    assert torch.allclose(digits.nearest_distance(q, x[:300]), brute)


def test_within_class_diversity_known_value():
    samples = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [1.0, 2.0], [9.0, 9.0]])
    labels = torch.tensor([0, 0, 1, 1, 2])  # class 2 has one sample and is skipped
    assert abs(digits.within_class_diversity(samples, labels, 3) - 3.0) < 1e-6  # mean of 5 and 1


def test_classifier_recognises_held_out_digits():
    x, y = digits.load_digits()
    x_train, y_train, x_test, y_test = digits.split(x, y, generator=torch.Generator().manual_seed(0))
    predict = digits.fit_digit_classifier(x_train, y_train)
    accuracy = float((predict(x_test) == y_test).float().mean())
    assert accuracy > 0.93
    noise = torch.rand(200, 64, generator=torch.Generator().manual_seed(2)) * 2 - 1
    assert torch.bincount(predict(noise), minlength=10).max() < 200  # it returns labels, not one constant


def test_image_grid_shape():
    x, _ = digits.load_digits()
    assert digits.image_grid(x[:12], rows=3).shape == (3 * 9 - 1, 4 * 9 - 1)


def test_split_draws_on_the_generator_device_and_returns_on_the_images_device(monkeypatch):
    seen = []
    original = torch.randperm

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out.device)
        return out

    monkeypatch.setattr(torch, "randperm", spy)
    x, y = torch.zeros(10, 64, device="meta"), torch.zeros(10, dtype=torch.long, device="meta")
    x_train, y_train, x_test, y_test = digits.split(x, y, test_fraction=0.3, generator=torch.Generator().manual_seed(0))
    assert seen == [torch.device("cpu")]  # the permutation is drawn on the (CPU) generator's device
    assert {t.device.type for t in (x_train, y_train, x_test, y_test)} == {"meta"}
    assert x_test.shape == (3, 64) and y_train.shape == (7,)
    # the same generator gives the same split on any device
    real = torch.arange(10.0)[:, None].expand(10, 64)
    first = digits.split(real, torch.arange(10), test_fraction=0.3, generator=torch.Generator().manual_seed(0))
    again = digits.split(real, torch.arange(10), test_fraction=0.3, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))


def test_split_refuses_labels_of_another_length():
    with pytest.raises(ValueError, match=r"labels must have shape \(10,\)"):
        digits.split(torch.zeros(10, 64), torch.zeros(9, dtype=torch.long))
