r"""A conservative finite-volume solver for the Fokker-Planck equation (Chapter 2).

$$\partial_t p = -\nabla\cdot\big(f\,p\big) + D(t)\,\Delta p = -\nabla\cdot F,
  \qquad F = f\,p - D\,\nabla p, \qquad D(t) = \tfrac12 g(t)^2 .$$

The density is stored as cell averages on a :class:`~coursekit.density.grids.Grid`. Each step moves mass
between neighbouring cells through their common face, with the Scharfetter-Gummel flux

$$F_{i+1/2} = f\,p_i + b\,(p_i - p_{i+1}), \qquad b = \frac{D}{\Delta x}\,B\Big(\frac{f\,\Delta x}{D}\Big),
  \qquad B(z) = \frac{z}{e^z - 1},$$

with the drift $f$ taken at the face. It is exact for a constant flux between two cell centres,
second order in $\Delta x$ for smooth solutions, and becomes upwinding when diffusion vanishes.
Boundary faces carry no flux (reflecting walls), so the total mass is conserved to round-off.
The explicit Euler step keeps the density non-negative (and is stable) as long as
$\Delta t \le 1 / \max_i \sum_{\text{faces}} (\text{outflow rate of cell } i)$; the solver
refuses larger steps with an error that says the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from coursekit._shapes import check_time_grid
from coursekit.density.grids import Grid

__all__ = [
    "FokkerPlanckSolution",
    "bernoulli",
    "face_flux",
    "fokker_planck_step",
    "solve_fokker_planck",
    "stable_time_step",
]

Drift = Callable[[Tensor, Tensor], Tensor]
Diffusion = Callable[[Tensor], Tensor] | float


def bernoulli(z: Tensor) -> Tensor:
    r"""The Bernoulli function $B(z) = z/(e^z - 1)$, with $B(0) = 1$, computed stably for any $z$."""
    small = z.abs() < 1e-6
    safe = torch.where(small, torch.ones_like(z), z)
    return torch.where(small, 1 - z / 2, safe / torch.expm1(safe))


def face_flux(p_left: Tensor, p_right: Tensor, f: Tensor, D: float | Tensor, dx: float) -> Tensor:
    r"""Scharfetter-Gummel flux through a face from its left to its right cell (Chapter 2, exercise).

    $$F = f\,p_L + b\,(p_L - p_R), \qquad b = \frac{D}{\Delta x} B\Big(\frac{f\Delta x}{D}\Big),$$
    and, when $D = 0$, the upwind flux $F = f\,p_L$ for $f > 0$, $f\,p_R$ for $f < 0$.

    Args:
        p_left: Density in the cells left of the faces, any shape ``S``.
        p_right: Density in the cells right of the faces, shape ``S``.
        f: Drift component normal to the face, at the face, shape ``S``.
        D: Diffusion $D = g^2/2 \ge 0$, a number or a tensor broadcastable to ``S``.
        dx: Distance between the two cell centres.

    Returns:
        The flux, shape ``S`` (positive: mass moves to the right).

    Example:
        >>> face_flux(torch.tensor([1.0]), torch.tensor([1.0]), torch.tensor([2.0]), 0.5, 0.1)
        tensor([2.])
    """
    D = torch.as_tensor(D, dtype=p_left.dtype, device=p_left.device)
    if bool((D < 0).any()):
        raise ValueError(f"the diffusion D = g^2/2 must be non-negative, got {D}")
    D_safe = torch.where(D > 0, D, torch.ones_like(D))
    b = torch.where(D > 0, D_safe / dx * bernoulli(f * dx / D_safe), torch.relu(-f))
    return f * p_left + b * (p_left - p_right)


def _diffusion_coefficient(diffusion: Diffusion, t: Tensor) -> Tensor:
    g = diffusion(t) if callable(diffusion) else torch.as_tensor(diffusion)
    return 0.5 * torch.as_tensor(g, dtype=t.dtype, device=t.device) ** 2


def _face_points(grid: Grid, k: int) -> Tensor:
    """Centres of the interior faces normal to dimension k, shape (prod(face shape), d)."""
    centers = grid.centers
    lo, h = grid.bounds[k][0], grid.dx[k]
    centers[k] = lo + h * torch.arange(1, grid.shape[k], dtype=grid.dtype, device=grid.device)  # interior edges
    mesh = torch.meshgrid(*centers, indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], dim=1)


def _face_shape(grid: Grid, k: int) -> tuple[int, ...]:
    return tuple(n - 1 if j == k else n for j, n in enumerate(grid.shape))


def _rates(
    grid: Grid, drift: Drift, diffusion: Diffusion, t: Tensor, faces: list[Tensor] | None = None
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """Per dimension: drift at the faces f, the coefficient b, and D."""
    D = _diffusion_coefficient(diffusion, t)
    faces = faces if faces is not None else [_face_points(grid, k) for k in range(grid.dim)]
    out = []
    for k in range(grid.dim):
        f = drift(faces[k], t)[:, k].reshape(_face_shape(grid, k))
        if D > 0:
            b = D / grid.dx[k] * bernoulli(f * grid.dx[k] / D)
        else:
            b = torch.relu(-f)
        out.append((f, b, D))
    return out


def stable_time_step(grid: Grid, drift: Drift, diffusion: Diffusion, t: float | Tensor) -> float:
    r"""Largest explicit step that keeps the density non-negative at time $t$.

    Cell $i$ loses mass at the rate $\sum_k (a_{k,i+1/2} + b_{k,i-1/2})/\Delta x_k$ with
    $a = f + b$; the step must not remove more than the cell holds.

    Args:
        grid: The grid.
        drift: $f(x, t)$, ``(M, d), () -> (M, d)``.
        diffusion: $g(t)$ as a callable of ``t`` or a number.
        t: The time.

    Returns:
        The step limit (``inf`` when nothing moves).
    """
    return _limit(grid, _rates(grid, drift, diffusion, torch.as_tensor(t, dtype=grid.dtype, device=grid.device)))


def _limit(grid: Grid, rates: list[tuple[Tensor, Tensor, Tensor]]) -> float:
    outflow = torch.zeros(grid.shape, dtype=grid.dtype, device=grid.device)
    for k, (f, b, _) in enumerate(rates):
        a = f + b  # coefficient of p_left in the flux: mass leaving the left cell
        pad_hi = [0, 0] * (grid.dim - 1 - k) + [0, 1]  # F.pad counts dimensions from the last
        pad_lo = [0, 0] * (grid.dim - 1 - k) + [1, 0]
        outflow += torch.nn.functional.pad(a, pad_hi) / grid.dx[k]  # through the face on the right
        outflow += torch.nn.functional.pad(b, pad_lo) / grid.dx[k]  # through the face on the left
    rate = outflow.max().item()
    return float("inf") if rate <= 0 else 1.0 / rate


def fokker_planck_step(
    density: Tensor, grid: Grid, drift: Drift, diffusion: Diffusion, t: float | Tensor, dt: float
) -> Tensor:
    r"""One explicit finite-volume step $p_i \leftarrow p_i - \tfrac{\Delta t}{\Delta x}(F_{i+1/2} - F_{i-1/2})$.

    Args:
        density: Cell averages, shape ``grid.shape``.
        grid: The grid.
        drift: $f(x, t)$, ``(M, d), () -> (M, d)``.
        diffusion: $g(t)$ as a callable of ``t`` or a number.
        t: Time at the start of the step.
        dt: Step size (positive).

    Returns:
        The density after the step, shape ``grid.shape``.
    """
    grid.check(density)
    return _step(
        density, grid, _rates(grid, drift, diffusion, torch.as_tensor(t, dtype=grid.dtype, device=grid.device)), dt
    )


def _step(density: Tensor, grid: Grid, rates: list[tuple[Tensor, Tensor, Tensor]], dt: float) -> Tensor:
    change = torch.zeros_like(density)
    for k, (f, _, D) in enumerate(rates):
        left = density.narrow(k, 0, grid.shape[k] - 1)
        right = density.narrow(k, 1, grid.shape[k] - 1)
        flux = face_flux(left, right, f, D, grid.dx[k])  # interior faces only: walls carry no flux
        pad = [0, 0] * (grid.dim - 1 - k) + [1, 1]
        flux = torch.nn.functional.pad(flux, pad)  # (..., n_k + 1, ...) with zero boundary fluxes
        change -= (flux.narrow(k, 1, grid.shape[k]) - flux.narrow(k, 0, grid.shape[k])) / grid.dx[k]
    return density + dt * change


@dataclass(frozen=True)
class FokkerPlanckSolution:
    """Result of :func:`solve_fokker_planck`.

    Attributes:
        times: The requested output times, shape ``(K,)``.
        densities: The density at each output time, shape ``(K, *grid.shape)``.
        grid: The grid.
        n_steps: Number of explicit steps taken.
    """

    times: Tensor
    densities: Tensor
    grid: Grid
    n_steps: int


def solve_fokker_planck(
    density: Tensor,
    grid: Grid,
    drift: Drift,
    diffusion: Diffusion,
    t_grid: Tensor,
    *,
    dt: float | None = None,
    safety: float = 0.9,
) -> FokkerPlanckSolution:
    r"""Solve $\partial_t p = -\nabla\cdot(f p) + \tfrac12 g^2 \Delta p$ from ``t_grid[0]`` to ``t_grid[-1]``.

    Args:
        density: Initial density, shape ``grid.shape`` (e.g. ``grid.evaluate(p0)``).
        grid: The grid; its walls reflect (zero flux).
        drift: $f(x, t)$, ``(M, d), () -> (M, d)``, e.g. ``sde.drift``.
        diffusion: $g(t)$, e.g. ``sde.diffusion``, or a number.
        t_grid: Increasing output times, shape ``(K,)``; the first is the initial time.
        dt: Fixed step size. It must respect the stability limit at every step, or a
            ``ValueError`` says the limit. ``None`` (default) picks ``safety`` times the limit at
            every step.
        safety: Fraction of the stability limit used when ``dt`` is ``None``.

    Returns:
        A :class:`FokkerPlanckSolution` with the densities at ``t_grid``.
    """
    grid.check(density)
    t_grid = check_time_grid(torch.as_tensor(t_grid, dtype=grid.dtype))
    if not bool((t_grid[1:] > t_grid[:-1]).all()):
        raise ValueError("t_grid must be increasing: the Fokker-Planck equation is solved forward in time")
    if dt is not None and not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    if not 0 < safety <= 1:
        raise ValueError(f"safety must be in (0, 1], got {safety}")
    p = density.to(device=grid.device, dtype=grid.dtype).clone()
    faces = [_face_points(grid, k) for k in range(grid.dim)]
    snapshots, t, n_steps = [p.clone()], float(t_grid[0]), 0
    for t_out in t_grid[1:].tolist():
        while t < t_out - 1e-12 * max(1.0, abs(t_out)):
            rates = _rates(grid, drift, diffusion, torch.tensor(t, dtype=grid.dtype, device=grid.device), faces)
            limit = _limit(grid, rates)
            if dt is None:
                step = min(safety * limit, t_out - t)
            else:
                step = min(dt, t_out - t)
                if step > limit * (1 + 1e-9):
                    raise ValueError(
                        f"dt = {dt:.3g} exceeds the stability limit {limit:.3g} at t = {t:.3g} "
                        f"(cell widths {tuple(round(h, 4) for h in grid.dx)}); use dt <= {limit:.3g}, "
                        "a coarser grid, or dt=None to choose the step automatically"
                    )
            p = _step(p, grid, rates, step)
            t += step
            n_steps += 1
        snapshots.append(p.clone())
    return FokkerPlanckSolution(t_grid, torch.stack(snapshots), grid, n_steps)
