r"""Figures of samples and paths for the course notebooks (used from Chapter 1 on).

Every plotting function takes ``ax=None`` (a new figure is made when none is given), returns the
``Axes`` it drew on, labels both axes ($x_1$, $x_2$ unless overridden) and accepts torch tensors
on any device (with or without ``requires_grad``) as well as NumPy arrays. Shapes follow the
package's conventions: samples ``(N, d)``, trajectories time-first ``(T+1, N, d)``.

This module is the notebooks' one entry point for figures: besides its own point clouds and paths
it offers the grid figures of :mod:`coursekit.viz.fields` (``plotting.plot_density``,
``plotting.plot_vector_field``, ``plotting.grid_points``) and the style of
:mod:`coursekit.viz.style` (``plotting.set_style``). Animations that play on the website live in
:mod:`coursekit.viz.animation`.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from coursekit._shapes import check_positive_int
from coursekit.viz.fields import grid_points, plot_density, plot_vector_field
from coursekit.viz.style import ArrayLike, Lims, axes_or_new, label_axes, parse_lims, set_style, to_numpy

# The grid figures and the style are re-exported: notebooks call them as ``plotting.X``.
__all__ = [
    "grid_points",
    "plot_density",
    "plot_samples",
    "plot_trajectories",
    "plot_vector_field",
    "set_style",
]


def _class_colors(classes: np.ndarray) -> list:
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    return [cmap(k % cmap.N) for k in range(len(classes))]


def plot_samples(
    x: ArrayLike,
    *,
    ax: Axes | None = None,
    labels: ArrayLike | None = None,
    title: str | None = None,
    lims: Lims | None = None,
    s: float = 2.0,
    alpha: float = 0.5,
    color: str | None = None,
    label: str | None = None,
    bins: int = 50,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Axes:
    r"""Scatter a 2D point cloud, or draw a histogram of 1D samples (used from Chapter 1 on).

    Args:
        x: Samples, shape ``(N, 2)`` (scatter, equal aspect) or ``(N, 1)`` / ``(N,)``
            (histogram with ``density=True``).
        ax: Axes to draw on; a new figure when ``None``.
        labels: Integer class of each sample, shape ``(N,)``: one colour and one legend entry per class.
        title: Axes title.
        lims: Axis limits, ``(lo, hi)`` for both axes or ``((x0, x1), (y0, y1))``; for 1D samples
            only the first pair is used (and sets the histogram's range).
        s: Marker size (points$^2$).
        alpha: Marker (or bar) opacity.
        color: Colour when ``labels`` is not given.
        label: Legend entry when ``labels`` is not given (a legend is drawn when set).
        bins: Number of histogram bins (1D only).
        xlabel: Default ``"$x_1$"`` (2D) or ``"$x$"`` (1D).
        ylabel: Default ``"$x_2$"`` (2D) or ``"density"`` (1D).

    Returns:
        The ``Axes``.

    Raises:
        ValueError: If ``x`` is not of shape ``(N, 2)``, ``(N, 1)`` or ``(N,)``, or ``labels`` is not ``(N,)``.
    """
    x_np = to_numpy(x, "x")
    if x_np.ndim == 1:
        x_np = x_np[:, None]
    if x_np.ndim != 2 or x_np.shape[1] not in (1, 2):
        raise ValueError(f"x must have shape (N, 2) or (N, 1), got shape {tuple(x_np.shape)}")
    groups: list[tuple[np.ndarray, Any, str | None]] = [(x_np, color, label)]
    if labels is not None:
        lab = to_numpy(labels, "labels")
        if lab.shape != (x_np.shape[0],):
            raise ValueError(f"labels must have shape (N,) = ({x_np.shape[0]},), got shape {tuple(lab.shape)}")
        classes = np.unique(lab)
        groups = [(x_np[lab == c], col, f"{c:g}") for c, col in zip(classes, _class_colors(classes), strict=True)]
    ax = axes_or_new(ax)
    box = parse_lims(lims) if lims is not None else None
    if x_np.shape[1] == 1:
        for pts, col, lbl in groups:
            ax.hist(
                pts[:, 0], bins=bins, range=box[0] if box else None, density=True, alpha=alpha, color=col, label=lbl
            )
        if box:
            ax.set_xlim(box[0])
        xlabel, ylabel = xlabel or "$x$", ylabel or "density"
    else:
        for pts, col, lbl in groups:
            ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=alpha, color=col, label=lbl, linewidths=0)
        if box:
            ax.set_xlim(box[0])
            ax.set_ylim(box[1])
        ax.set_aspect("equal", adjustable="box")
        xlabel, ylabel = xlabel or "$x_1$", ylabel or "$x_2$"
    if labels is not None or label is not None:
        legend = ax.legend(title="class" if labels is not None else None, loc="best")
        for handle in legend.legend_handles:  # markers of size s=2 are invisible in a legend
            if handle is None:  # an entry matplotlib could not draw a handle for
                continue
            handle.set_alpha(1.0)
            if hasattr(handle, "set_sizes"):
                handle.set_sizes([20.0])
    return label_axes(ax, xlabel, ylabel, title)


def plot_trajectories(
    traj: ArrayLike,
    *,
    times: ArrayLike | None = None,
    ax: Axes | None = None,
    n_show: int = 50,
    title: str | None = None,
    color: str | None = None,
    alpha: float = 0.6,
    show_endpoints: bool = True,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Axes:
    r"""Draw sample paths $t \mapsto x_t$ of an ODE or SDE solve (used from Chapter 1 on).

    For ``d = 2`` the paths are drawn in the plane, with the start ``traj[0]`` and the end
    ``traj[-1]`` marked; for ``d = 1`` the values are drawn against time.

    Args:
        traj: Trajectories, time-first, shape ``(T+1, N, d)`` with ``d`` in ``{1, 2}``
            (or a sequence of ``T+1`` arrays of shape ``(N, d)``).
        times: Times of the rows of ``traj``, shape ``(T+1,)``; for ``d = 1`` without them the
            step index is used.
        ax: Axes to draw on; a new figure when ``None``.
        n_show: Number of paths drawn (the first ``n_show``).
        title: Axes title.
        color: Colour of the paths (default the first colour of the cycle).
        alpha: Opacity of the paths.
        show_endpoints: Mark the start and end points (legend entries ``"start"``, ``"end"``).
        xlabel: Default ``"$x_1$"`` (2D) or ``"$t$"`` (1D).
        ylabel: Default ``"$x_2$"`` (2D) or ``"$x$"`` (1D).

    Returns:
        The ``Axes``.

    Raises:
        ValueError: If ``traj`` is not 3-D with ``d`` in ``{1, 2}``, or ``times`` is not ``(T+1,)``.
    """
    traj_np = to_numpy(traj, "traj")
    if traj_np.ndim != 3 or traj_np.shape[2] not in (1, 2):
        raise ValueError(
            f"traj must have shape (T+1, N, d) with d = 1 or 2 (time first), got shape {tuple(traj_np.shape)}"
        )
    n_show = check_positive_int(n_show, "n_show")
    paths = traj_np[:, :n_show]  # (T+1, n_show, d)
    if times is not None:
        t_np = to_numpy(times, "times")
        if t_np.shape != (traj_np.shape[0],):
            raise ValueError(f"times must have shape (T+1,) = ({traj_np.shape[0]},), got shape {tuple(t_np.shape)}")
    ax = axes_or_new(ax)
    color = color or "C0"
    if traj_np.shape[2] == 2:
        xs, ys = paths[..., 0], paths[..., 1]
        xlabel, ylabel = xlabel or "$x_1$", ylabel or "$x_2$"
    else:
        xs = np.broadcast_to((t_np if times is not None else np.arange(len(paths)))[:, None], paths.shape[:2])
        ys = paths[..., 0]
        xlabel, ylabel = xlabel or ("$t$" if times is not None else "step"), ylabel or "$x$"
    ax.plot(xs, ys, color=color, alpha=alpha, linewidth=0.8)
    if show_endpoints:
        ax.scatter(xs[0], ys[0], s=12, color="C1", zorder=3, label="start")
        ax.scatter(xs[-1], ys[-1], s=12, color="C3", zorder=3, label="end")
        ax.legend(loc="best")
    return label_axes(ax, xlabel, ylabel, title)
