r"""Two-dimensional toy datasets, as in FFJORD, drawn from an explicit ``torch.Generator``.

The six point clouds of Grathwohl et al. (2018), FFJORD, ``lib/toy_data.py``, with the same
scales: "8gaussians", "moons", "checkerboard", "2spirals", "rings", "pinwheel". Chapters 3-9 train
every model family on them; Chapter 7 (guidance) uses their natural class labels.

Differences from FFJORD's generators, all deliberate:

* randomness comes only from ``generator`` (FFJORD mixes numpy's global state and a
  ``RandomState``); "moons" calls scikit-learn with an integer seed drawn from ``generator``;
* every call returns exactly ``n`` points in random order (FFJORD's "pinwheel" returns
  $5 \lfloor n/5 \rfloor$ and "2spirals" $2 \lfloor n/2 \rfloor$); class sizes of "2spirals",
  "rings" and "pinwheel" are $\lfloor n/K \rfloor$ with the $n \bmod K$ leftover points given to
  distinct random classes;
* "2spirals" draws the two arms independently (FFJORD's second arm mirrors the first point by
  point), and each ring of "rings" gets a uniformly random phase for its evenly spaced angles
  (FFJORD's phase is 0), so that a single point has the ring's rotation-invariant law;
* "8gaussians" is exactly :func:`mixture` ``("8gaussians")``, with labels in angular order
  (mode $k$ at angle $2\pi k/8$).

Points are computed in float64 (float32 on MPS) and then cast, so a float32 sample equals the
float64 sample of the same seed, rounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from coursekit._choices import check_choice
from coursekit._shapes import check_points, check_positive_int
from coursekit.density.mixtures import GaussianMixture
from coursekit.rng import rand, randint, randn, randperm, spawn_seed

__all__ = ["DATASETS", "has_log_prob", "log_prob", "mixture", "num_classes", "sample", "sample_labelled"]

DATASETS: tuple[str, ...] = ("8gaussians", "moons", "checkerboard", "2spirals", "rings", "pinwheel")

_Sampler = Callable[[int, "torch.Generator | None", torch.device, torch.dtype], tuple[Tensor, Tensor]]


def sample(
    name: str,
    n: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Draw ``n`` points of a toy dataset (Chapters 3-9).

    Args:
        name: One of :data:`DATASETS`.
        n: Number of points, a positive int.
        generator: Source of randomness; ``None`` uses torch's default generator.
        device: Device of the result (default: torch's default device).
        dtype: Floating dtype of the result (default: torch's default dtype).

    Returns:
        Points, shape ``(n, 2)``.

    Example:
        >>> sample("moons", 5, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([5, 2])
    """
    return sample_labelled(name, n, generator=generator, device=device, dtype=dtype)[0]


def sample_labelled(
    name: str,
    n: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Draw ``n`` points of a toy dataset with their natural class labels (Chapter 7, guidance).

    The labels are: the mode (8gaussians, mode $k$ at angle $2\pi k/8$); the moon (moons, 0 =
    upper); the square (checkerboard, $2c + \lfloor r/2 \rfloor$ for column $c$ and row $r$ of
    the $4 \times 4$ board, from the bottom left); the arm (2spirals, pinwheel); the ring (rings,
    0 = innermost). :func:`num_classes` gives their number.

    Args:
        name: One of :data:`DATASETS`.
        n: Number of points, a positive int.
        generator: Source of randomness; ``None`` uses torch's default generator.
        device: Device of the results (default: torch's default device).
        dtype: Floating dtype of the points (default: torch's default dtype).

    Returns:
        Points of shape ``(n, 2)`` and labels, ``long`` of shape ``(n,)``.

    Raises:
        TypeError: If ``dtype`` is not a floating dtype.
    """
    name = _check_name(name)
    n = check_positive_int(n, "n")
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    device = torch.empty(()).device if device is None else torch.device(device)  # torch's default device
    # computed on the generator's device (then moved), so a CPU generator gives the same bits on every device
    work_device = generator.device if generator is not None else device
    work_dtype = torch.float32 if work_device.type == "mps" else torch.float64
    x, labels = _SAMPLERS[name](n, generator, work_device, work_dtype)
    return x.to(device=device, dtype=dtype), labels.to(device)


def num_classes(name: str) -> int:
    """Return the number of label classes of a dataset (see :func:`sample_labelled`).

    Args:
        name: One of :data:`DATASETS`.

    Returns:
        The number of classes: 8, 2, 8, 2, 4, 5 in the order of :data:`DATASETS`.
    """
    return _NUM_CLASSES[_check_name(name)]


def has_log_prob(name: str) -> bool:
    """Say whether :func:`log_prob` knows the dataset's exact density ("8gaussians", "checkerboard").

    Args:
        name: One of :data:`DATASETS`.

    Returns:
        ``True`` for the datasets with a closed-form density.
    """
    return _check_name(name) in ("8gaussians", "checkerboard")


def log_prob(name: str, x: Tensor) -> Tensor:
    r"""Evaluate a dataset's exact log-density, where it has one.

    "8gaussians" is the mixture :func:`mixture`. "checkerboard" is uniform on the 8 squares of side
    2 of $[-4, 4]^2$ whose column and row indices have an even sum: $\log p = -\log 32$ there and
    $-\infty$ elsewhere. Chapters 3, 5 and 9 compare model likelihoods with it, as
    $\mathrm{KL}(p_{\text{data}}\,\|\,q) = \mathrm{NLL} - H$ on held-out points
    (:func:`coursekit.metrics.divergences.toy_kl_divergence`).

    Args:
        name: A dataset for which :func:`has_log_prob` is true.
        x: Points, shape ``(N, 2)``.

    Returns:
        Log-density, shape ``(N,)``, in the dtype and on the device of ``x``.

    Raises:
        NotImplementedError: For datasets with no closed-form density.
    """
    name = _check_name(name)
    x = check_points(x, "x", dim=2)
    if name == "8gaussians":
        return mixture(name, device=x.device, dtype=x.dtype).log_prob(x)
    if name == "checkerboard":
        col, row = (torch.floor(x / 2).clamp(-2, 1) + 2).unbind(1)  # indices 0..3 on the board
        inside = (x.abs() <= 4).all(dim=1) & (torch.remainder(col + row, 2) == 0)
        return torch.full_like(x[:, 0], -math.log(32.0)).masked_fill(~inside, -math.inf)  # (N,)
    raise NotImplementedError(f"no closed-form density for {name!r}; only for 8gaussians and checkerboard")


def mixture(
    name: str, *, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> GaussianMixture:
    r"""Return the exact Gaussian mixture behind "8gaussians", so that its score is available.

    FFJORD adds $\mathcal N(0, 0.5^2 I)$ noise to $4 c_k$ and divides by 1.414, so
    $$p = \tfrac18 \sum_{k=0}^{7} \mathcal N\!\left(\tfrac{4}{1.414} c_k,\; \left(\tfrac{0.5}{1.414}\right)^2 I\right),
      \qquad c_k = (\cos\tfrac{2\pi k}{8}, \sin\tfrac{2\pi k}{8}).$$

    Args:
        name: ``"8gaussians"`` (the only mixture among :data:`DATASETS`).
        device: Device of the parameters (default: torch's default device).
        dtype: Floating dtype of the parameters (default: torch's default dtype).

    Returns:
        The mixture, with components in label order.

    Raises:
        ValueError: For any other dataset.
    """
    if _check_name(name) != "8gaussians":
        raise ValueError(f"{name!r} is not a Gaussian mixture; only '8gaussians' is")
    dtype = torch.get_default_dtype() if dtype is None else dtype
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)  # (8,)
    means = (4.0 / 1.414) * torch.stack([angles.cos(), angles.sin()], dim=1)  # (8, 2)
    return GaussianMixture.isotropic(means.to(device=device, dtype=dtype), 0.5 / 1.414)


def _check_name(name: str) -> str:
    """Return ``name`` if it is a dataset, else raise a ValueError that lists the valid names."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {', '.join(DATASETS)}; got {name!r}")
    return check_choice(name, DATASETS, "dataset")


def _balanced_labels(n: int, k: int, g: torch.Generator | None, dev: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """Sorted labels with class sizes n // k (+1 for n % k random classes); also sizes and ranks."""
    counts = torch.full((k,), n // k, dtype=torch.long, device=dev)
    counts[randperm(k, generator=g, device=dev)[: n % k]] += 1  # leftover points
    labels = torch.repeat_interleave(torch.arange(k, device=dev), counts)  # (n,), sorted
    rank = torch.arange(n, device=dev) - (torch.cumsum(counts, 0) - counts)[labels]  # index within class
    return labels, counts, rank


def _shuffled(x: Tensor, labels: Tensor, g: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """Apply one random permutation to the points and their labels."""
    perm = randperm(x.shape[0], generator=g, device=x.device)
    return x[perm], labels[perm]


def _eight_gaussians(n: int, g: torch.Generator | None, dev: torch.device, dt: torch.dtype) -> tuple[Tensor, Tensor]:
    return mixture("8gaussians", device=dev, dtype=dt).sample_with_labels(n, generator=g)


def _moons(n: int, g: torch.Generator | None, dev: torch.device, dt: torch.dtype) -> tuple[Tensor, Tensor]:
    from sklearn.datasets import make_moons  # imported here: scikit-learn is slow to import

    points, labels = make_moons(n_samples=n, noise=0.1, random_state=spawn_seed(g))
    x = torch.as_tensor(points, device=dev).to(dt) * 2 + torch.tensor([-1.0, -0.2], device=dev, dtype=dt)
    return x, torch.as_tensor(labels, dtype=torch.long, device=dev)


def _checkerboard(n: int, g: torch.Generator | None, dev: torch.device, dt: torch.dtype) -> tuple[Tensor, Tensor]:
    x1 = rand((n,), generator=g, device=dev, dtype=dt) * 4 - 2
    x2 = rand((n,), generator=g, device=dev, dtype=dt) - 2 * randint(0, 2, (n,), generator=g, device=dev)
    x = torch.stack([x1, x2 + torch.remainder(torch.floor(x1), 2)], dim=1) * 2  # (n, 2)
    col, row = (torch.floor(x / 2).clamp(-2, 1).long() + 2).unbind(1)  # board indices 0..3
    return x, 2 * col + row // 2


def _two_spirals(n: int, g: torch.Generator | None, dev: torch.device, dt: torch.dtype) -> tuple[Tensor, Tensor]:
    labels, _, _ = _balanced_labels(n, 2, g, dev)
    turn = rand((n,), generator=g, device=dev, dtype=dt).sqrt() * (540 * 2 * math.pi / 360)  # (n,)
    arm = torch.stack([-turn.cos() * turn, turn.sin() * turn], dim=1)  # (n, 2)
    arm = arm + 0.5 * rand((n, 2), generator=g, device=dev, dtype=dt)
    x = (1 - 2 * labels).to(dt)[:, None] * arm / 3  # arm 1 is arm 0 reflected through the origin
    x = x + 0.1 * randn((n, 2), generator=g, device=dev, dtype=dt)
    return _shuffled(x, labels, g)


def _rings(n: int, g: torch.Generator | None, dev: torch.device, dt: torch.dtype) -> tuple[Tensor, Tensor]:
    labels, counts, rank = _balanced_labels(n, 4, g, dev)
    phase = 2 * math.pi * rand((4,), generator=g, device=dev, dtype=dt)
    angle = phase[labels] + 2 * math.pi * rank.to(dt) / counts[labels].to(dt)  # evenly spaced on each ring
    radius = 3.0 * (labels + 1).to(dt) / 4  # radii 0.75, 1.5, 2.25, 3
    x = radius[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1)
    x = x + 0.08 * randn((n, 2), generator=g, device=dev, dtype=dt)
    return _shuffled(x, labels, g)


def _pinwheel(n: int, g: torch.Generator | None, dev: torch.device, dt: torch.dtype) -> tuple[Tensor, Tensor]:
    labels, _, _ = _balanced_labels(n, 5, g, dev)
    feat = randn((n, 2), generator=g, device=dev, dtype=dt) * torch.tensor([0.3, 0.1], device=dev, dtype=dt)
    r, s = feat[:, 0] + 1, feat[:, 1]  # radial and tangential features
    angle = 2 * math.pi * labels.to(dt) / 5 + 0.25 * r.exp()
    c, si = angle.cos(), angle.sin()
    x = 2 * torch.stack([r * c + s * si, -r * si + s * c], dim=1)  # FFJORD's (r, s) @ [[c, -si], [si, c]]
    return _shuffled(x, labels, g)


_SAMPLERS: dict[str, _Sampler] = {
    "8gaussians": _eight_gaussians,
    "moons": _moons,
    "checkerboard": _checkerboard,
    "2spirals": _two_spirals,
    "rings": _rings,
    "pinwheel": _pinwheel,
}
_NUM_CLASSES = {"8gaussians": 8, "moons": 2, "checkerboard": 8, "2spirals": 2, "rings": 4, "pinwheel": 5}
