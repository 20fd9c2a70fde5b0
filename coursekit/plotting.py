r"""Figures and animations for the course notebooks (used from Chapter 1 on).

Every plotting function takes ``ax=None`` (a new figure is made when none is given), returns the
``Axes`` it drew on, labels both axes ($x_1$, $x_2$ unless overridden) and accepts torch tensors
on any device (with or without ``requires_grad``) as well as NumPy arrays. Shapes follow the
package's conventions: samples ``(N, d)``, trajectories time-first ``(T+1, N, d)``.

Animations that play on the website live in :mod:`coursekit.animation`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor

from coursekit._shapes import check_positive_int

__all__ = [
    "grid_points",
    "plot_density",
    "plot_samples",
    "plot_trajectories",
    "plot_vector_field",
    "set_style",
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
