"""The smiley point cloud (Chapters 2 and 8): on its curves, jittered reproducibly, on the requested device."""

import math

import pytest
import torch

from coursekit.data import shapes


def _distance_to_curves(points):
    """Distance of each point to the nearest of the four curves (face, two eyes, smile), in units of the scale."""
    face = (points.norm(dim=1) - 1).abs()
    eyes = [
        ((points - torch.tensor(c, dtype=points.dtype)).norm(dim=1) - 0.12).abs() for c in ((-0.35, 0.3), (0.35, 0.3))
    ]
    offset = points - torch.tensor((0.0, 0.05), dtype=points.dtype)
    angle = torch.atan2(offset[:, 1], offset[:, 0]) % (2 * math.pi)
    on_arc = (angle >= 1.15 * math.pi - 1e-6) & (angle <= 1.85 * math.pi + 1e-6)
    smile = torch.where(on_arc, (offset.norm(dim=1) - 0.55).abs(), torch.full_like(face, math.inf))
    return torch.stack([face, *eyes, smile]).amin(0)


def test_points_lie_on_the_curves_and_the_parts_have_their_sizes():
    points = shapes.smiley(600, scale=2.0)
    assert points.shape == (600, 2) and points.dtype == torch.float32 and points.device.type == "cpu"
    assert _distance_to_curves(points.double() / 2).max() < 1e-6
    assert int(((points / 2).norm(dim=1) - 1).abs().lt(1e-6).sum()) == 600 - 2 * 60 - 150  # the face circle


def test_jitter_is_gaussian_reproducible_and_uses_the_generator():
    clean = shapes.smiley(4000)
    a = shapes.smiley(4000, jitter=0.1, generator=torch.Generator().manual_seed(0))
    b = shapes.smiley(4000, jitter=0.1, generator=torch.Generator().manual_seed(0))
    c = shapes.smiley(4000, jitter=0.1, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    noise = (a - clean).double()
    assert abs(float(noise.std()) - 0.1) < 5 * 0.1 / math.sqrt(2 * 8000)  # 5 standard errors of a std
    assert abs(float(noise.mean())) < 5 * 0.1 / math.sqrt(8000)
    with pytest.raises(ValueError, match="jitter must be non-negative"):
        shapes.smiley(100, jitter=-0.1)
    with pytest.raises(ValueError, match="at least 20"):
        shapes.smiley(5)


def test_jitter_is_drawn_on_the_generator_device_and_returned_on_the_requested_one(monkeypatch):
    seen = []
    original = torch.randn

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out.device)
        return out

    monkeypatch.setattr(torch, "randn", spy)
    out = shapes.smiley(100, jitter=0.1, generator=torch.Generator().manual_seed(0), device="meta")
    assert out.device.type == "meta" and out.shape == (100, 2) and out.dtype == torch.float32
    assert seen == [torch.device("cpu")]  # one draw, on the (CPU) generator's device
    on_cpu = shapes.smiley(100, jitter=0.1, generator=torch.Generator().manual_seed(0), device="cpu")
    assert torch.equal(on_cpu, shapes.smiley(100, jitter=0.1, generator=torch.Generator().manual_seed(0)))
