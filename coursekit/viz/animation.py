r"""Animations that play on a static web page (used from Chapter 1 on).

Animations are ``matplotlib.animation.FuncAnimation`` objects whose figure is already closed;
show them with :func:`to_html`, which embeds the frames as PNG images in a JavaScript player,
so they play on the website built by Jupyter Book without a kernel (a figure redrawn with
``clear_output`` would show only its last frame there). Keep them small: at most about 40
frames at 72-80 dpi (the default ``dpi=80`` of :func:`animate`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes

from coursekit._shapes import check_positive, check_positive_int
from coursekit.viz.plotting import plot_samples
from coursekit.viz.style import ArrayLike, Lims, label_axes, parse_lims, to_numpy

__all__ = ["animate", "animate_histograms", "animate_samples", "to_html"]


def animate(
    draw_frame: Callable[[Axes, int], None],
    n_frames: int,
    *,
    figsize: tuple[float, float] = (5.0, 4.0),
    interval: int = 100,
    title: str | None = None,
    dpi: float = 80,
) -> FuncAnimation:
    r"""Build an animation from a function that draws frame ``i`` on a cleared ``Axes``.

    The figure is closed right away, so a notebook does not also show it as a still image;
    display the result with :func:`to_html`. Keep ``n_frames <= 40`` at ``dpi`` 72-80 so the
    page stays small (20-30 kB a frame); rendering costs about 0.1 s a frame on a 2-core CPU.
    Used from Chapter 1 on.

    Args:
        draw_frame: ``draw_frame(ax, i)`` draws frame ``i`` in ``range(n_frames)``; the axes are
            cleared before each call.
        n_frames: Number of frames.
        figsize: Figure size in inches.
        interval: Delay between frames in milliseconds.
        title: Figure title, kept on every frame (per-frame titles go on the axes).
        dpi: Resolution of the frames.

    Returns:
        A ``FuncAnimation`` of ``n_frames`` frames.

    Raises:
        ValueError: If ``n_frames`` or ``interval`` is not positive.
    """
    n_frames = check_positive_int(n_frames, "n_frames")
    fig, ax = _animation_figure(figsize, dpi, title)

    def update(i: int) -> list:
        ax.clear()
        draw_frame(ax, i)
        return []

    return _closed_animation(fig, update, n_frames, interval)


def _animation_figure(figsize: tuple[float, float], dpi: float, title: str | None) -> tuple[plt.Figure, Axes]:
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    if title is not None:
        fig.suptitle(title)
    return fig, ax


def _closed_animation(fig: plt.Figure, update: Callable[[int], list], n_frames: int, interval: int) -> FuncAnimation:
    """Animate ``update`` over ``n_frames`` and close the figure (so it is not shown as a still)."""
    check_positive(interval, "interval")
    anim = FuncAnimation(fig, update, frames=n_frames, interval=interval, blit=False)
    plt.close(fig)
    return anim


def _frame_list(frames: ArrayLike | Sequence[ArrayLike], name: str) -> list[np.ndarray]:
    if isinstance(frames, (list, tuple)):
        out = [to_numpy(f, f"{name}[{i}]") for i, f in enumerate(frames)]
    else:
        out = list(to_numpy(frames, name))
    if not out:
        raise ValueError(f"{name} must hold at least one frame, got none")
    return out


def _frame_times(times: ArrayLike | None, n_frames: int) -> np.ndarray | None:
    if times is None:
        return None
    t_np = to_numpy(times, "times")
    if t_np.shape != (n_frames,):
        raise ValueError(f"times must have shape (F,) = ({n_frames},), got shape {tuple(t_np.shape)}")
    return t_np


def animate_samples(
    frames: ArrayLike | Sequence[ArrayLike],
    *,
    times: ArrayLike | None = None,
    lims: Lims | None = None,
    labels: ArrayLike | None = None,
    s: float = 2.0,
    interval: int = 100,
    title: str | None = None,
    time_format: str = "t = {:.2f}",
) -> FuncAnimation:
    r"""Animate a 2D point cloud moving in time, e.g. an SDE's samples (used from Chapter 1 on).

    The axis limits are the same on every frame: ``lims`` if given, else the union of all
    frames' ranges (plus a 5% margin).

    Args:
        frames: Samples per frame, shape ``(F, N, 2)`` (e.g. a trajectory ``traj[::k]``), or a
            sequence of ``F`` arrays of shape ``(N, 2)``.
        times: Time of each frame, shape ``(F,)``, shown as the title ``"t = 0.50"``.
        lims: ``(lo, hi)`` for both axes or ``((x0, x1), (y0, y1))``.
        labels: Class of each point, shape ``(N,)`` (see :func:`~coursekit.viz.plotting.plot_samples`).
        s: Marker size.
        interval: Delay between frames in milliseconds.
        title: Figure title, kept on every frame.
        time_format: Format of the per-frame title, e.g. ``"step {:.0f}"`` when ``times`` are steps.

    Returns:
        A ``FuncAnimation`` of ``F`` frames.

    Raises:
        ValueError: If a frame is not of shape ``(N, 2)`` or ``times`` is not ``(F,)``.
    """
    data = _frame_list(frames, "frames")
    for i, f in enumerate(data):
        if f.ndim != 2 or f.shape[1] != 2:
            raise ValueError(f"frames must have shape (F, N, 2); frame {i} has shape {tuple(f.shape)}")
    t_np = _frame_times(times, len(data))
    if lims is None:
        pts = np.concatenate(data)  # (sum of N, 2); a diverging sample (inf, nan) does not set the limits
        pts = pts[np.isfinite(pts).all(axis=1)] if np.isfinite(pts).any() else np.array([[-1.0, -1.0], [1.0, 1.0]])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = 0.05 * np.maximum(hi - lo, 1e-6)
        lims = ((lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]))
    box = parse_lims(lims)
    masks = None
    if labels is not None:
        lab = to_numpy(labels, "labels")
        bad = [i for i, f in enumerate(data) if lab.shape != (f.shape[0],)]
        if bad:
            raise ValueError(
                f"labels must have shape (N,) for every frame, got {tuple(lab.shape)} and frame "
                f"{bad[0]} of shape {tuple(data[bad[0]].shape)}"
            )
        masks = [lab == c for c in np.unique(lab)]  # the class order of plot_samples
    # Draw frame 0 once, then move the points: redrawing the axes on every frame is 2x slower.
    fig, ax = _animation_figure((5.0, 4.0), 80, title)
    plot_samples(data[0], ax=ax, labels=labels, lims=box, s=s)
    scatters = ax.collections[: 1 if masks is None else len(masks)]

    def update(i: int) -> list:
        for k, sc in enumerate(scatters):
            sc.set_offsets(data[i] if masks is None else data[i][masks[k]])
        if t_np is not None:
            ax.set_title(time_format.format(t_np[i]))
        return []

    return _closed_animation(fig, update, len(data), interval)


def animate_histograms(
    frames: ArrayLike | Sequence[ArrayLike],
    *,
    times: ArrayLike | None = None,
    bins: int = 60,
    range: tuple[float, float] | None = None,  # the name np.histogram uses
    density_curves: ArrayLike | None = None,
    x_grid: ArrayLike | None = None,
    interval: int = 100,
    title: str | None = None,
    time_format: str = "t = {:.2f}",
    curve_label: str = "exact density",
) -> FuncAnimation:
    r"""Animate the histogram of a 1D process, optionally against densities $p_t$ (exact or from a solver).

    Bins and axis limits are the same on every frame. Used from Chapter 1 on (Brownian motion,
    Ornstein-Uhlenbeck) and in Chapter 2 (Fokker-Planck solutions against particles).

    Args:
        frames: Samples per frame, shape ``(F, N)`` or ``(F, N, 1)``, or a sequence of ``F``
            arrays of shape ``(N,)`` or ``(N, 1)``.
        times: Time of each frame, shape ``(F,)``, shown as the title ``"t = 0.50"``.
        bins: Number of histogram bins.
        range: ``(lo, hi)`` of the bins; default: the range of all frames.
        density_curves: Densities to overlay, shape ``(F, n_grid)``; needs ``x_grid``.
        x_grid: Points where ``density_curves`` are given, shape ``(n_grid,)``.
        interval: Delay between frames in milliseconds.
        title: Figure title, kept on every frame.
        time_format: Format of the per-frame title, e.g. ``"step {:.0f}"`` when ``times`` are steps.
        curve_label: Legend label of the curves, e.g. ``"grid solution"`` for a numerical one.

    Returns:
        A ``FuncAnimation`` of ``F`` frames.

    Raises:
        ValueError: If a frame is not ``(N,)``/``(N, 1)``, or the shapes of ``times``,
            ``density_curves`` and ``x_grid`` do not match ``F``.
    """
    data = _frame_list(frames, "frames")
    for i, f in enumerate(data):
        if f.ndim == 2 and f.shape[1] == 1:
            data[i] = f[:, 0]
        elif f.ndim != 1:
            raise ValueError(f"frames must have shape (F, N) or (F, N, 1); frame {i} has shape {tuple(f.shape)}")
    n_frames = len(data)
    t_np = _frame_times(times, n_frames)
    curves = grid = None
    if density_curves is not None:
        if x_grid is None:
            raise ValueError("density_curves needs x_grid, the points of shape (n_grid,) where they are given")
        curves, grid = to_numpy(density_curves, "density_curves"), to_numpy(x_grid, "x_grid")
        if grid.ndim != 1 or curves.shape != (n_frames, grid.shape[0]):
            raise ValueError(
                f"density_curves must have shape (F, n_grid) = ({n_frames}, n_grid) and x_grid (n_grid,); "
                f"got {tuple(curves.shape)} and {tuple(grid.shape)}"
            )
    if range is None:
        range = (min(np.nanmin(f) for f in data), max(np.nanmax(f) for f in data))
    edges = np.histogram_bin_edges(data[0], bins=check_positive_int(bins, "bins"), range=range)
    heights = [np.histogram(f, bins=edges, density=True)[0] for f in data]  # F x (bins,)
    top = max(h.max() for h in heights)
    if curves is not None:
        top = max(top, float(np.nanmax(curves)))

    fig, ax = _animation_figure((5.0, 4.0), 80, title)
    bars = ax.stairs(heights[0], edges, fill=True, alpha=0.5, label="samples")
    if curves is not None and grid is not None:  # set together above
        (line,) = ax.plot(grid, curves[0], color="k", linewidth=1.2, label=curve_label)
        ax.legend(loc="upper right")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0.0, 1.1 * top if top > 0 else 1.0)
    label_axes(ax, "$x$", "density", None)

    def update(i: int) -> list:
        bars.set_data(heights[i])
        if curves is not None:
            line.set_ydata(curves[i])
        if t_np is not None:
            ax.set_title(time_format.format(t_np[i]))
        return []

    return _closed_animation(fig, update, n_frames, interval)


def to_html(anim: FuncAnimation, *, default_mode: str = "once") -> HTML:
    """Render an animation as a JavaScript player that plays on a static web page.

    The frames are embedded as PNG images at the figure's dpi (80 for :func:`animate`), so the
    animation works on the Jupyter Book website without a kernel. Keep it to about 40 frames
    at 72-80 dpi: each frame costs tens of kB of the page. Used from Chapter 1 on.

    Args:
        anim: The animation, e.g. from :func:`animate_samples`.
        default_mode: ``"once"``, ``"loop"`` or ``"reflect"``: what the player does at the end.

    Returns:
        An ``IPython.display.HTML`` object; the last expression of a cell displays it.

    Raises:
        ValueError: If ``default_mode`` is not one of the three modes.
    """
    if default_mode not in ("once", "loop", "reflect"):
        raise ValueError(f"default_mode must be 'once', 'loop' or 'reflect', got {default_mode!r}")
    with mpl.rc_context({"savefig.dpi": "figure", "savefig.bbox": None}):
        html = anim.to_jshtml(default_mode=default_mode)
    return HTML(_FONT_AWESOME_LINK.sub(_icons_only_if_missing, html))


# matplotlib's player links Font Awesome 4 from a CDN for its button icons. The website already
# ships Font Awesome (the theme's), and must not fetch anything from a CDN; Jupyter and Colab
# have none, so load the CDN copy only where no Font Awesome is present.
_FONT_AWESOME_LINK = re.compile(
    r'<link rel="stylesheet"\s*href="(https://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*)">'
)


def _icons_only_if_missing(match: re.Match) -> str:
    return (
        '<script>if (!document.querySelector(\'[href*="fontawesome"], [href*="font-awesome"], '
        "[src*=\"fontawesome\"]')) { const link = document.createElement('link'); link.rel = 'stylesheet'; "
        f"link.href = '{match.group(1)}'; document.head.appendChild(link); }}</script>"
    )
