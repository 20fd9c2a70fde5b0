r"""Rectangular grids of cells, and densities on them from formulas or from particles (Chapter 2).

A :class:`Grid` splits a box $[a_1, b_1] \times \dots \times [a_d, b_d]$ ($d = 1$ or $2$) into
equal cells; a density on it is a tensor of cell averages of shape ``grid.shape``, i.e.
``(n_x,)`` or ``(n_x, n_y)`` with ``indexing="ij"``. Particles become densities through a
histogram or a Gaussian kernel density estimate on the same cells, so that the $L^1$ distance
$\int |p - q|\,dx \approx \sum_i |p_i - q_i|\,\Delta V$ compares particles with a grid solver.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive, check_positive_int

__all__ = ["Grid", "histogram_density", "kde_density", "l1_distance"]


@dataclass(frozen=True)
class Grid:
    r"""A uniform grid of cells on a box in 1 or 2 dimensions (Chapter 2).

    Args:
        bounds: ``((a_1, b_1),)`` or ``((a_1, b_1), (a_2, b_2))``.
        shape: Number of cells per dimension, ``(n_x,)`` or ``(n_x, n_y)``.
        dtype: Floating dtype of the coordinates (float64 by default: the solver's mass is
            conserved to round-off).
        device: Device of every tensor the grid makes (centres, histograms, the Fokker-Planck
            solver's densities); default the CPU. Particles and densities given to the grid's
            functions are moved to it.

    Example:
        >>> grid = Grid(((-1.0, 1.0),), (4,))
        >>> grid.centers[0]
        tensor([-0.7500, -0.2500,  0.2500,  0.7500], dtype=torch.float64)
    """

    bounds: tuple[tuple[float, float], ...]
    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float64
    device: torch.device | str = "cpu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", torch.device(self.device))
        bounds = tuple((float(lo), float(hi)) for lo, hi in self.bounds)
        shape = tuple(self.shape)
        if len(bounds) not in (1, 2) or len(shape) != len(bounds):
            raise ValueError(
                f"a grid has 1 or 2 dimensions with one (lo, hi) and one size each; got {bounds} and {shape}"
            )
        for (lo, hi), n in zip(bounds, shape, strict=True):
            check_positive_int(n, "shape")
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"each bound must be (lo, hi) with lo < hi, got {(lo, hi)}")
        object.__setattr__(self, "bounds", bounds)
        object.__setattr__(self, "shape", shape)

    @property
    def dim(self) -> int:
        """Dimension $d$ (1 or 2)."""
        return len(self.shape)

    @property
    def dx(self) -> tuple[float, ...]:
        r"""Cell widths $\Delta x_k = (b_k - a_k)/n_k$."""
        return tuple((hi - lo) / n for (lo, hi), n in zip(self.bounds, self.shape, strict=True))

    @property
    def cell_volume(self) -> float:
        r"""$\Delta V = \prod_k \Delta x_k$."""
        return math.prod(self.dx)

    @property
    def centers(self) -> list[Tensor]:
        """Cell centres per dimension, tensors of shape ``(n_k,)``."""
        return [
            torch.linspace(lo + h / 2, hi - h / 2, n, dtype=self.dtype, device=self.device)
            for (lo, hi), n, h in zip(self.bounds, self.shape, self.dx, strict=True)
        ]

    @property
    def points(self) -> Tensor:
        """All cell centres as a batch of points, shape ``(prod(shape), d)``, in ``ij`` order."""
        mesh = torch.meshgrid(*self.centers, indexing="ij")
        return torch.stack([m.reshape(-1) for m in mesh], dim=1)

    def evaluate(self, fn: Callable[[Tensor], Tensor]) -> Tensor:
        """Evaluate ``fn`` (``(M, d) -> (M,)``, e.g. a density) at the cell centres; returns ``grid.shape``."""
        return fn(self.points).reshape(self.shape)

    def mass(self, density: Tensor) -> Tensor:
        r"""Total mass $\sum_i p_i\,\Delta V$ of a density of shape ``grid.shape`` (or ``(K, *grid.shape)``)."""
        return density.sum(dim=tuple(range(-self.dim, 0))) * self.cell_volume

    def normalize(self, density: Tensor) -> Tensor:
        """Scale a non-negative density to mass one."""
        self.check(density, "density")
        return density / self.mass(density)

    def check(self, density: Tensor, name: str = "density") -> Tensor:
        """Raise a ``ValueError`` unless ``density`` has shape ``grid.shape``."""
        if not isinstance(density, Tensor) or tuple(density.shape) != self.shape:
            got = tuple(density.shape) if isinstance(density, Tensor) else type(density).__name__
            raise ValueError(f"{name} must have the grid's shape {self.shape}, got {got}")
        return density


def histogram_density(x: Tensor, grid: Grid) -> Tensor:
    r"""Histogram of particles on the grid's cells, normalised by the number of particles.

    $p_i = \#\{n : x_n \in \text{cell } i\} / (N\,\Delta V)$; particles outside the box are
    counted nowhere (so the mass is the fraction inside).

    Args:
        x: Particles, shape ``(N, d)``.
        grid: The grid.

    Returns:
        Density of shape ``grid.shape``.
    """
    check_points(x, "x", dim=grid.dim)
    x = x.detach().to(device=grid.device, dtype=grid.dtype)
    index = torch.zeros(x.shape[0], dtype=torch.long, device=grid.device)
    inside = torch.ones(x.shape[0], dtype=torch.bool, device=grid.device)
    for k, ((lo, _), n, h) in enumerate(zip(grid.bounds, grid.shape, grid.dx, strict=True)):
        i = torch.floor((x[:, k] - lo) / h).long()
        inside &= (i >= 0) & (i < n)
        index = index * n + i.clamp(0, n - 1)
    counts = torch.bincount(index[inside], minlength=math.prod(grid.shape)).to(grid.dtype)
    return (counts / (x.shape[0] * grid.cell_volume)).reshape(grid.shape)


def kde_density(x: Tensor, grid: Grid, bandwidth: float) -> Tensor:
    r"""Gaussian kernel density estimate at the cell centres.

    $$\hat p(y) = \frac1N \sum_{n=1}^N \mathcal N(y;\, x_n,\, h^2 I).$$

    Args:
        x: Particles, shape ``(N, d)``.
        grid: The grid.
        bandwidth: Kernel width $h > 0$.

    Returns:
        Density of shape ``grid.shape``.
    """
    check_points(x, "x", dim=grid.dim)
    h = check_positive(bandwidth, "bandwidth")
    x = x.detach().to(device=grid.device, dtype=grid.dtype)
    y = grid.points  # (M, d)
    out = torch.zeros(y.shape[0], dtype=grid.dtype, device=grid.device)
    for chunk in torch.split(x, 2048):
        sq = torch.cdist(y, chunk) ** 2  # (M, n_chunk)
        out += torch.exp(-sq / (2 * h**2)).sum(dim=1)
    out /= x.shape[0] * (2 * math.pi * h**2) ** (grid.dim / 2)
    return out.reshape(grid.shape)


def l1_distance(p: Tensor, q: Tensor, grid: Grid) -> float:
    r"""$\int |p - q|\,dx \approx \sum_i |p_i - q_i|\,\Delta V$ between two densities on the grid (0 to 2)."""
    grid.check(p, "p")
    grid.check(q, "q")
    return float((p.to(q.device) - q).abs().sum() * grid.cell_volume)
