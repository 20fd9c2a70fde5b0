"""Explicit randomness: every random function in coursekit takes a ``torch.Generator``.

Nothing in the library touches the global random state; only :func:`seed_everything`, called
once in the first cell of a notebook, does. A CPU generator can drive tensors on any device:
:func:`randn` draws on the generator's device and moves the result, as diffusers recommends.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from torch import Tensor

__all__ = ["randn", "randn_like", "seed_everything", "spawn_seed"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA). For notebooks and scripts only.

    Args:
        seed: Any non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def randn(
    shape: tuple[int, ...],
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    r"""Draw standard normal noise $\varepsilon \sim \mathcal N(0, I)$ of a given shape.

    Args:
        shape: Shape of the result, e.g. ``(N, d)``.
        generator: Source of randomness; ``None`` uses torch's default generator.
        device: Device of the result (default: CPU).
        dtype: Floating dtype of the result (default: torch's default dtype).

    Returns:
        A tensor of shape ``shape`` on ``device``.
    """
    gen_device = generator.device if generator is not None else device
    z = torch.randn(shape, generator=generator, device=gen_device, dtype=dtype)
    return z.to(device) if device is not None else z


def randn_like(x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
    """Standard normal noise with the shape, device and dtype of ``x``.

    Args:
        x: Any tensor, e.g. samples of shape ``(N, d)``.
        generator: Source of randomness (may live on another device than ``x``).

    Returns:
        Noise of the same shape as ``x``.
    """
    return randn(tuple(x.shape), generator=generator, device=x.device, dtype=x.dtype)


def spawn_seed(generator: torch.Generator | None = None) -> int:
    """Draw a 31-bit integer seed from ``generator``, to seed a NumPy/scikit-learn sampler.

    Args:
        generator: Source of randomness; ``None`` uses torch's default generator.

    Returns:
        An int in ``[0, 2**31 - 1)``.
    """
    gen_device = generator.device if generator is not None else None
    return int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=gen_device).item())
