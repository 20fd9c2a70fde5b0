"""Explicit randomness: every random function in coursekit takes a ``torch.Generator``.

Nothing in the library touches the global random state; only :func:`seed_everything`, called
once in the first cell of a notebook, does. A CPU generator can drive tensors on any device:
:func:`randn`, :func:`rand`, :func:`randint` and :func:`randperm` draw on the generator's device
and move the result to the requested one, as diffusers recommends, so the same seed gives the
same numbers on every device. :func:`forked_seed` runs code that only knows the global generator
(``nn.Module`` initialisation) from a seed without changing the caller's global state.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

__all__ = ["forked_seed", "rand", "randint", "randn", "randn_like", "randperm", "seed_everything", "spawn_seed"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA). For notebooks and scripts only.

    Python's hash randomisation (``PYTHONHASHSEED``) is fixed when the interpreter starts and
    cannot be changed from inside it; set it in the environment of the process if it matters
    (the grader does).

    Args:
        seed: Any non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


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
    z = torch.randn(shape, generator=generator, device=_draw_device(generator, device), dtype=dtype)
    return z.to(device) if device is not None else z


def _draw_device(generator: torch.Generator | None, device: torch.device | str | None) -> torch.device | str | None:
    """The device to draw on: the generator's (a generator only draws on its own device)."""
    return generator.device if generator is not None else device


def rand(
    shape: tuple[int, ...],
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    r"""Draw uniform noise $u \sim U[0, 1)$ of a given shape, on the generator's device, then moved.

    Args:
        shape: Shape of the result, e.g. ``(N,)``.
        generator: Source of randomness; ``None`` uses torch's default generator.
        device: Device of the result (default: CPU).
        dtype: Floating dtype of the result (default: torch's default dtype).

    Returns:
        A tensor of shape ``shape`` on ``device``.

    Example:
        >>> u = rand((3,), generator=torch.Generator().manual_seed(0))
        >>> u.shape, bool(((u >= 0) & (u < 1)).all())
        (torch.Size([3]), True)
    """
    u = torch.rand(shape, generator=generator, device=_draw_device(generator, device), dtype=dtype)
    return u.to(device) if device is not None else u


def randint(
    low: int,
    high: int,
    shape: tuple[int, ...],
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Draw integers uniformly from ``[low, high)``, on the generator's device, then moved.

    Args:
        low: Smallest value.
        high: One past the largest value.
        shape: Shape of the result, e.g. ``(N,)`` for ``N`` indices.
        generator: Source of randomness; ``None`` uses torch's default generator.
        device: Device of the result (default: CPU).

    Returns:
        An ``int64`` tensor of shape ``shape`` on ``device``.

    Example:
        >>> randint(0, 5, (4,), generator=torch.Generator().manual_seed(0)).shape
        torch.Size([4])
    """
    k = torch.randint(low, high, shape, generator=generator, device=_draw_device(generator, device))
    return k.to(device) if device is not None else k


def randperm(
    n: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Draw a random permutation of ``0, ..., n - 1``, on the generator's device, then moved.

    Args:
        n: Length of the permutation.
        generator: Source of randomness; ``None`` uses torch's default generator.
        device: Device of the result (default: CPU).

    Returns:
        An ``int64`` tensor of shape ``(n,)`` on ``device``.

    Example:
        >>> sorted(randperm(4, generator=torch.Generator().manual_seed(0)).tolist())
        [0, 1, 2, 3]
    """
    p = torch.randperm(n, generator=generator, device=_draw_device(generator, device))
    return p.to(device) if device is not None else p


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
    return int(randint(0, 2**31 - 1, (1,), generator=generator).item())


@contextlib.contextmanager
def forked_seed(seed: int) -> Iterator[None]:
    """Run a block with torch's global CPU generator seeded to ``seed``, then restore the caller's state.

    For code that draws only from the global generator, such as the default initialisation of
    ``nn.Linear``: ``with forked_seed(0): net = MLP(2)`` gives the same network every time and
    leaves the caller's random state exactly as it was (``torch.random.fork_rng``).

    Args:
        seed: Any non-negative integer.

    Example:
        >>> with forked_seed(0):
        ...     a = torch.rand(2)
        >>> with forked_seed(0):
        ...     b = torch.rand(2)
        >>> torch.equal(a, b)
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    with torch.random.fork_rng(devices=[]):  # saves and restores the CPU generator only
        torch.default_generator.manual_seed(seed)  # the CPU generator only: CUDA's is left alone
        yield
