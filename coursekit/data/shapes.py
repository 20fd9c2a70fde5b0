r"""Recognisable point clouds drawn from curves: a smiley face (Chapters 2 and 8).

The points lie evenly spaced along the curves, so the cloud is deterministic; pass a generator
to jitter them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from coursekit._shapes import check_positive_int
from coursekit.rng import randn

__all__ = ["smiley"]


def _arc(n: int, center: tuple[float, float], radius: float, start: float, stop: float) -> Tensor:
    angle = torch.linspace(start, stop, n, dtype=torch.float64)
    return torch.stack([center[0] + radius * torch.cos(angle), center[1] + radius * torch.sin(angle)], dim=1)


def smiley(
    n: int = 600,
    *,
    scale: float = 2.0,
    generator: torch.Generator | None = None,
    jitter: float = 0.0,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""A smiley face of ``n`` points in the plane: a circle, two eyes and a smile.

    Args:
        n: Number of points (at least 20).
        scale: Radius of the face.
        generator: Source of randomness for the jitter, drawn on the generator's device (a CPU
            generator drives any ``device``).
        jitter: Standard deviation of Gaussian noise added to each point (0: exactly on the curves).
        device: Device of the result (default: the CPU).

    Returns:
        Points of shape ``(n, 2)``, float32.

    Example:
        >>> smiley(100).shape
        torch.Size([100, 2])
    """
    check_positive_int(n, "n")
    if n < 20:
        raise ValueError(f"a smiley needs at least 20 points, got {n}")
    n_eye, n_mouth = n // 10, n // 4
    n_face = n - 2 * n_eye - n_mouth
    parts = [
        _arc(n_face, (0.0, 0.0), 1.0, 0.0, 2 * math.pi * (1 - 1 / n_face)),
        _arc(n_eye, (-0.35, 0.3), 0.12, 0.0, 2 * math.pi * (1 - 1 / n_eye)),
        _arc(n_eye, (0.35, 0.3), 0.12, 0.0, 2 * math.pi * (1 - 1 / n_eye)),
        _arc(n_mouth, (0.0, 0.05), 0.55, 1.15 * math.pi, 1.85 * math.pi),
    ]
    points = scale * torch.cat(parts)
    if jitter < 0:
        raise ValueError(f"jitter must be non-negative, got {jitter}")
    if jitter > 0:
        points = points + jitter * randn(tuple(points.shape), generator=generator, device="cpu", dtype=points.dtype)
    return points.to(device=device if device is not None else "cpu", dtype=torch.float32)
