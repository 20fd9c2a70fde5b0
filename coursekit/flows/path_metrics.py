r"""How straight and how cheap are the paths of a flow: kinetic energy and straightness (Chapters 4, 5, 9).

All functions take a sampled trajectory, time-first, shape ``(T+1, N, d)``, on a strictly monotone
grid ``t_grid`` of shape ``(T+1,)`` (generation runs backwards, from $t = 1$ to $t = 0$: either
direction is fine). Between grid points a particle is taken to move on a straight segment at
constant speed, which is exact for Euler trajectories; the segment velocity is
$v_k = (x_{k+1} - x_k) / (t_{k+1} - t_k)$. With $\tau = |t_T - t_0|$ and the chord
$\Delta = x_T - x_0$ of each particle:

* path energy $E = \mathbb E_n \sum_k |t_{k+1} - t_k|\,\|v_k\|^2 \approx \mathbb E\int\|v\|^2 dt$;
* normalized path energy $E\,\tau / \mathbb E\|\Delta\|^2 \ge 1$, with equality exactly for straight,
  constant-speed paths (Cauchy-Schwarz);
* straightness $S = \frac1\tau \mathbb E_n \sum_k |t_{k+1} - t_k|\,\|v_k - \Delta/(t_T - t_0)\|^2$
  (Liu et al. 2022, Eq. 7; 0 for straight paths), and the identity
  $S = \frac{\mathbb E\|\Delta\|^2}{\tau^2}\,(\text{normalized energy} - 1)$.
"""

from __future__ import annotations

import torch
from torch import Tensor

from coursekit._shapes import check_time_grid

__all__ = ["normalized_path_energy", "path_energy", "straightness"]


def _segments(trajectory: Tensor, t_grid: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Return the steps dx (T, N, d), the signed dt (T,) and the span t_T - t_0 (0-d)."""
    if not isinstance(trajectory, Tensor):
        raise TypeError(f"trajectory must be a torch.Tensor of shape (T+1, N, d), got {type(trajectory).__name__}")
    if trajectory.ndim != 3:
        raise ValueError(f"trajectory must have shape (T+1, N, d) (time first), got shape {tuple(trajectory.shape)}")
    t_grid = check_time_grid(torch.as_tensor(t_grid)).to(device=trajectory.device, dtype=trajectory.dtype)
    if t_grid.shape[0] != trajectory.shape[0]:
        raise ValueError(
            f"t_grid has {t_grid.shape[0]} times but trajectory has {trajectory.shape[0]} "
            f"(shape {tuple(trajectory.shape)})"
        )
    trajectory = trajectory.detach()
    return trajectory[1:] - trajectory[:-1], t_grid[1:] - t_grid[:-1], t_grid[-1] - t_grid[0]


def path_energy(trajectory: Tensor, t_grid: Tensor) -> float:
    r"""Kinetic energy $\mathbb E_n \sum_k \|x_{k+1} - x_k\|^2 / |t_{k+1} - t_k|$ of sampled paths (Chapter 5).

    The discrete form of $\mathbb E \int \|v_t(x_t)\|^2\,dt$, the Benamou-Brenier action that OT
    minimises (Chapter 4).

    Args:
        trajectory: Particle paths, time-first, shape ``(T+1, N, d)``.
        t_grid: Their times, strictly monotone, shape ``(T+1,)``.

    Returns:
        The energy, a float (mean over the ``N`` particles).

    Example:
        >>> path_energy(torch.tensor([[[0.0]], [[1.0]], [[2.0]]]), torch.tensor([0.0, 0.5, 1.0]))
        4.0
    """
    dx, dt, _ = _segments(trajectory, t_grid)
    return float(((dx**2).sum(-1) / dt.abs()[:, None]).sum(0).mean())  # (T, N) -> (N,) -> mean


def normalized_path_energy(trajectory: Tensor, t_grid: Tensor) -> float:
    r"""Path energy relative to the straight, constant-speed paths with the same endpoints (Chapter 5).

    $$\text{NPE} = \frac{\tau\,E}{\mathbb E_n\|x_{T} - x_{0}\|^2} \;\ge\; 1, \qquad \tau = |t_T - t_0|,$$
    equal to 1 exactly when every particle moves on a straight line at constant speed. (Tong et al.
    2023 call "normalized path energy" $|E - W_2^2| / W_2^2$, relative to the OT cost instead of to the
    particles' own chords; the two agree when the flow's end-point coupling is optimal.)

    Args:
        trajectory: Particle paths, time-first, shape ``(T+1, N, d)``.
        t_grid: Their times, strictly monotone, shape ``(T+1,)``.

    Returns:
        The ratio, a float.

    Example:
        >>> normalized_path_energy(torch.tensor([[[0.0]], [[1.0]], [[2.0]]]), torch.tensor([1.0, 0.5, 0.0]))
        1.0
    """
    dx, dt, span = _segments(trajectory, t_grid)
    chord = float((dx.sum(0) ** 2).sum(-1).mean())
    if chord == 0.0:
        raise ValueError("the paths do not move (x_end == x_start for every particle): the ratio is undefined")
    return path_energy(trajectory, t_grid) * float(span.abs()) / chord


def straightness(trajectory: Tensor, t_grid: Tensor) -> float:
    r"""Mean squared deviation of the velocity from the chord velocity (Liu et al. 2022) (Chapter 5).

    $$S = \frac{1}{\tau}\,\mathbb E_n \sum_k |t_{k+1} - t_k|\,
      \Big\|\frac{x_{k+1} - x_k}{t_{k+1} - t_k} - \frac{x_T - x_0}{t_T - t_0}\Big\|^2,
      \qquad \tau = |t_T - t_0|,$$
    the discrete form of $S = \int_0^1 \mathbb E\|(x_{\text{noise}} - x_{\text{data}}) - v_t(x_t)\|^2\,dt$
    of rectified flow: 0 exactly for straight constant-speed paths, in units of squared velocity.
    It satisfies $S = (\mathbb E\|x_T - x_0\|^2 / \tau^2)\,(\text{NPE} - 1)$, so the scale-free
    "ratio form" is ``normalized_path_energy - 1``.

    Args:
        trajectory: Particle paths, time-first, shape ``(T+1, N, d)``.
        t_grid: Their times, strictly monotone, shape ``(T+1,)``.

    Returns:
        $S \ge 0$, a float.

    Example:
        >>> straightness(torch.tensor([[[0.0]], [[1.0]], [[0.0]]]), torch.tensor([0.0, 0.5, 1.0]))
        4.0
    """
    dx, dt, span = _segments(trajectory, t_grid)
    v = dx / dt[:, None, None]  # (T, N, d)
    chord_velocity = dx.sum(0) / span  # (N, d)
    deviation = ((v - chord_velocity) ** 2).sum(-1)  # (T, N)
    return float((dt.abs()[:, None] * deviation).sum(0).mean() / span.abs())
