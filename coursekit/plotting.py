r"""Figures and animations for the course notebooks (used from Chapter 1 on).

Every plotting function takes ``ax=None`` (a new figure is made when none is given), returns the
``Axes`` it drew on, labels both axes ($x_1$, $x_2$ unless overridden) and accepts torch tensors
on any device (with or without ``requires_grad``) as well as NumPy arrays. Shapes follow the
package's conventions: samples ``(N, d)``, trajectories time-first ``(T+1, N, d)``.

Animations are ``matplotlib.animation.FuncAnimation`` objects whose figure is already closed;
show them with :func:`to_html`, which embeds the frames as PNG images in a JavaScript player,
so they play on the static website built by Jupyter Book (no kernel needed). Keep them small:
at most about 40 frames at 72-80 dpi (the default ``dpi=80`` of :func:`animate`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import HTML
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from torch import Tensor

from coursekit._shapes import check_positive, check_positive_int

__all__ = [
    "animate",
    "animate_histograms",
    "animate_samples",
    "grid_points",
    "plot_density",
    "plot_samples",
    "plot_trajectories",
    "plot_vector_field",
    "set_style",
    "to_html",
]

ArrayLike = Tensor | np.ndarray | Sequence[float]
Lims = tuple[float, float] | tuple[tuple[float, float], tuple[float, float]]

_STYLE = {
    "figure.figsize": (5.0, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "image.cmap": "viridis",
    "animation.embed_limit": 50.0,  # MB of base64 frames allowed in one HTML animation
}


def set_style() -> None:
    """Set the course's matplotlib defaults (idempotent; called by ``setup_notebook``).

    Figures of 5 x 4 inches at 100 dpi on screen (150 dpi when saved), a light grid, small fonts,
    the ``viridis`` colour map, and an embedding limit of 50 MB for HTML animations.
    Used from Chapter 1 on.
    """
    mpl.rcParams.update(_STYLE)


def _numpy(x: ArrayLike, name: str) -> np.ndarray:
    """Return a float NumPy copy of a tensor (any device, any float dtype), array, or sequence of them."""
    if isinstance(x, Tensor):
        return x.detach().cpu().to(torch.float64).numpy()
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], (Tensor, np.ndarray)):
        return np.stack([_numpy(item, f"{name}[{i}]") for i, item in enumerate(x)])
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a tensor or an array, got {type(x).__name__}") from None


def _axes(ax: Axes | None) -> Axes:
    return plt.subplots()[1] if ax is None else ax


def _parse_lims(lims: Lims, name: str = "lims") -> tuple[tuple[float, float], tuple[float, float]]:
    """Turn ``(lo, hi)`` or ``((x0, x1), (y0, y1))`` into the second form."""
    arr = _numpy(lims, name)
    if arr.shape == (2,):
        arr = np.stack([arr, arr])
    if arr.shape != (2, 2) or not np.all(np.isfinite(arr)) or np.any(arr[:, 0] >= arr[:, 1]):
        raise ValueError(f"{name} must be (lo, hi) or ((x0, x1), (y0, y1)) with lo < hi, got {lims!r}")
    return (float(arr[0, 0]), float(arr[0, 1])), (float(arr[1, 0]), float(arr[1, 1]))


def _finish(ax: Axes, xlabel: str, ylabel: str, title: str | None) -> Axes:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    return ax


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
    x_np = _numpy(x, "x")
    if x_np.ndim == 1:
        x_np = x_np[:, None]
    if x_np.ndim != 2 or x_np.shape[1] not in (1, 2):
        raise ValueError(f"x must have shape (N, 2) or (N, 1), got shape {tuple(x_np.shape)}")
    groups: list[tuple[np.ndarray, object, str | None]] = [(x_np, color, label)]
    if labels is not None:
        lab = _numpy(labels, "labels")
        if lab.shape != (x_np.shape[0],):
            raise ValueError(f"labels must have shape (N,) = ({x_np.shape[0]},), got shape {tuple(lab.shape)}")
        classes = np.unique(lab)
        groups = [(x_np[lab == c], col, f"{c:g}") for c, col in zip(classes, _class_colors(classes), strict=True)]
    ax = _axes(ax)
    box = _parse_lims(lims) if lims is not None else None
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
            handle.set_alpha(1.0)
            if hasattr(handle, "set_sizes"):
                handle.set_sizes([20.0])
    return _finish(ax, xlabel, ylabel, title)


def grid_points(
    lims: Lims, n: int, *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, np.ndarray, np.ndarray]:
    r"""Make a regular ``n x n`` grid of the plane: points for a model, arrays for matplotlib.

    Uses ``indexing="ij"``: ``X[i, j] = xs[i]`` and ``Y[i, j] = ys[j]``, and
    ``points.reshape(n, n, 2)[i, j] == (X[i, j], Y[i, j])``, so a model's output of shape
    ``(n*n,)`` reshapes to ``(n, n)`` matching ``X`` and ``Y`` (``pcolormesh(X, Y, Z)`` works;
    for ``imshow`` transpose ``Z``). Used from Chapter 1 on.

    Args:
        lims: ``(lo, hi)`` for both axes or ``((x0, x1), (y0, y1))``.
        n: Number of grid points per axis.
        device: Device of ``points``.
        dtype: Dtype of ``points`` (``float32`` by default).

    Returns:
        ``(points, X, Y)``: a tensor of shape ``(n*n, 2)`` and two NumPy arrays of shape ``(n, n)``.

    Example:
        >>> points, X, Y = grid_points((-1, 1), 3)
        >>> points.shape, X.shape, float(X[2, 0]), float(Y[2, 0])
        (torch.Size([9, 2]), (3, 3), 1.0, -1.0)
    """
    n = check_positive_int(n, "n")
    (x0, x1), (y0, y1) = _parse_lims(lims)
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n), indexing="ij")  # (n, n) each
    points = torch.as_tensor(np.stack([X.ravel(), Y.ravel()], axis=-1), dtype=dtype, device=device)
    return points, X, Y


def _reshape_output(out: Tensor, shape: tuple[int, ...], name: str) -> np.ndarray:
    if not isinstance(out, Tensor) or tuple(out.shape) != shape:
        got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"{name} must return a tensor of shape {shape}, got {got}")
    return _numpy(out, name)


def plot_density(
    log_prob: Callable[[Tensor], Tensor],
    *,
    lims: Lims = (-4.0, 4.0),
    n: int = 200,
    ax: Axes | None = None,
    title: str | None = None,
    exp: bool = True,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    xlabel: str = "$x_1$",
    ylabel: str = "$x_2$",
) -> Axes:
    r"""Show a 2D density $p(x) = \exp(\log p(x))$ (or $\log p$) on a grid (used from Chapter 1 on).

    ``log_prob`` is evaluated once on the ``n*n`` points of :func:`grid_points`, under
    ``torch.no_grad()``. Points where $\log p = -\infty$ get density 0 (blank for ``exp=False``).

    Args:
        log_prob: Maps points of shape ``(n*n, 2)`` to log-densities of shape ``(n*n,)``.
        lims: ``(lo, hi)`` for both axes or ``((x0, x1), (y0, y1))``.
        n: Grid points per axis.
        ax: Axes to draw on; a new figure when ``None``.
        title: Axes title.
        exp: Plot the density (``True``) or the log-density (``False``).
        device: Device of the grid points (that of the model).
        dtype: Dtype of the grid points.
        xlabel: Label of the horizontal axis.
        ylabel: Label of the vertical axis.

    Returns:
        The ``Axes``; its colour bar is labelled ``"density"`` or ``"log-density"``.
    """
    points, X, Y = grid_points(lims, n, device=device, dtype=dtype)
    with torch.no_grad():
        logp = _reshape_output(log_prob(points), (n * n,), "log_prob").reshape(n, n)  # (n, n), ij
    values = np.exp(logp) if exp else np.ma.masked_invalid(logp)
    ax = _axes(ax)
    mesh = ax.pcolormesh(X, Y, values, shading="nearest", rasterized=True)
    ax.figure.colorbar(mesh, ax=ax, label="density" if exp else "log-density")
    ax.set_aspect("equal", adjustable="box")
    ax.grid(False)
    return _finish(ax, xlabel, ylabel, title)


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
    traj_np = _numpy(traj, "traj")
    if traj_np.ndim != 3 or traj_np.shape[2] not in (1, 2):
        raise ValueError(
            f"traj must have shape (T+1, N, d) with d = 1 or 2 (time first), got shape {tuple(traj_np.shape)}"
        )
    n_show = check_positive_int(n_show, "n_show")
    paths = traj_np[:, :n_show]  # (T+1, n_show, d)
    if times is not None:
        t_np = _numpy(times, "times")
        if t_np.shape != (traj_np.shape[0],):
            raise ValueError(f"times must have shape (T+1,) = ({traj_np.shape[0]},), got shape {tuple(t_np.shape)}")
    ax = _axes(ax)
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
    return _finish(ax, xlabel, ylabel, title)


def plot_vector_field(
    field: Callable[[Tensor, Tensor], Tensor],
    t: float,
    *,
    lims: Lims = (-4.0, 4.0),
    n: int = 20,
    ax: Axes | None = None,
    title: str | None = None,
    normalize: bool = False,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    xlabel: str = "$x_1$",
    ylabel: str = "$x_2$",
) -> Axes:
    r"""Quiver plot of a velocity, score or drift $v(x, t)$ at one time (used from Chapter 1 on).

    Arrows are coloured by the magnitude $|v(x, t)|$. ``field`` is called without
    ``torch.no_grad()``, so a score computed by autograd works; the output is detached.

    Args:
        field: Callable ``field(x, t)`` with ``x`` of shape ``(n*n, 2)`` and ``t`` a 0-d tensor,
            returning shape ``(n*n, 2)``.
        t: The time (0 = data, 1 = noise).
        lims: ``(lo, hi)`` for both axes or ``((x0, x1), (y0, y1))``.
        n: Arrows per axis.
        ax: Axes to draw on; a new figure when ``None``.
        title: Axes title.
        normalize: Draw unit arrows (direction only); the colour still shows the magnitude.
        device: Device of the grid points and of ``t``.
        dtype: Dtype of the grid points and of ``t``.
        xlabel: Label of the horizontal axis.
        ylabel: Label of the vertical axis.

    Returns:
        The ``Axes``; its colour bar is labelled ``"magnitude"``.
    """
    points, X, Y = grid_points(lims, n, device=device, dtype=dtype)
    t_tensor = torch.as_tensor(float(t), device=points.device, dtype=dtype)  # 0-d
    v = _reshape_output(field(points, t_tensor), (n * n, 2), "field").reshape(n, n, 2)
    magnitude = np.hypot(v[..., 0], v[..., 1])  # (n, n)
    if normalize:
        v = v / np.where(magnitude > 0, magnitude, 1.0)[..., None]
    ax = _axes(ax)
    arrows = ax.quiver(X, Y, v[..., 0], v[..., 1], magnitude, angles="xy", pivot="mid")
    ax.figure.colorbar(arrows, ax=ax, label="magnitude")
    ax.set_aspect("equal", adjustable="box")
    return _finish(ax, xlabel, ylabel, title)


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
        out = [_numpy(f, f"{name}[{i}]") for i, f in enumerate(frames)]
    else:
        out = list(_numpy(frames, name))
    if not out:
        raise ValueError(f"{name} must hold at least one frame, got none")
    return out


def _frame_times(times: ArrayLike | None, n_frames: int) -> np.ndarray | None:
    if times is None:
        return None
    t_np = _numpy(times, "times")
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
        labels: Class of each point, shape ``(N,)`` (see :func:`plot_samples`).
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
    box = _parse_lims(lims)
    masks = None
    if labels is not None:
        lab = _numpy(labels, "labels")
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
) -> FuncAnimation:
    r"""Animate the histogram of a 1D process, optionally against exact densities $p_t$.

    Bins and axis limits are the same on every frame. Used from Chapter 1 on (Brownian motion,
    Ornstein-Uhlenbeck) and in Chapter 2 (Fokker-Planck solutions against particles).

    Args:
        frames: Samples per frame, shape ``(F, N)`` or ``(F, N, 1)``, or a sequence of ``F``
            arrays of shape ``(N,)`` or ``(N, 1)``.
        times: Time of each frame, shape ``(F,)``, shown as the title ``"t = 0.50"``.
        bins: Number of histogram bins.
        range: ``(lo, hi)`` of the bins; default: the range of all frames.
        density_curves: Exact densities to overlay, shape ``(F, n_grid)``; needs ``x_grid``.
        x_grid: Points where ``density_curves`` are given, shape ``(n_grid,)``.
        interval: Delay between frames in milliseconds.
        title: Figure title, kept on every frame.
        time_format: Format of the per-frame title, e.g. ``"step {:.0f}"`` when ``times`` are steps.

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
        curves, grid = _numpy(density_curves, "density_curves"), _numpy(x_grid, "x_grid")
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
    if curves is not None:
        (line,) = ax.plot(grid, curves[0], color="k", linewidth=1.2, label="exact density")
        ax.legend(loc="upper right")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0.0, 1.1 * top if top > 0 else 1.0)
    _finish(ax, "$x$", "density", None)

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
        return HTML(anim.to_jshtml(default_mode=default_mode))
