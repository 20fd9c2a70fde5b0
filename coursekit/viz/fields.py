r"""Figures of functions on a grid of the plane: densities and vector fields (used from Chapter 1 on).

:func:`grid_points` makes the grid a model is evaluated on; :func:`plot_density` shows a density
$p(x)$ (or $\log p(x)$) on it, :func:`plot_vector_field` a velocity, score or drift $v(x, t)$.
Like every drawing function of :mod:`coursekit.viz`, they take ``ax=None``, return the ``Axes``
and label both axes. They are also reachable as ``plotting.plot_density`` and so on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor

from coursekit._shapes import check_positive_int
from coursekit.viz.style import Lims, axes_or_new, label_axes, parse_lims, to_numpy

__all__ = ["grid_points", "plot_density", "plot_vector_field"]


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
    (x0, x1), (y0, y1) = parse_lims(lims)
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n), indexing="ij")  # (n, n) each
    points = torch.as_tensor(np.stack([X.ravel(), Y.ravel()], axis=-1), dtype=dtype, device=device)
    return points, X, Y


def _reshape_output(out: Tensor, shape: tuple[int, ...], name: str) -> np.ndarray:
    if not isinstance(out, Tensor) or tuple(out.shape) != shape:
        got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"{name} must return a tensor of shape {shape}, got {got}")
    return to_numpy(out, name)


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
    ax = axes_or_new(ax)
    mesh = ax.pcolormesh(X, Y, values, shading="nearest", rasterized=True)
    ax.figure.colorbar(mesh, ax=ax, label="density" if exp else "log-density")
    ax.set_aspect("equal", adjustable="box")
    ax.grid(False)
    return label_axes(ax, xlabel, ylabel, title)


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
    ax = axes_or_new(ax)
    arrows = ax.quiver(X, Y, v[..., 0], v[..., 1], magnitude, angles="xy", pivot="mid")
    ax.figure.colorbar(arrows, ax=ax, label="magnitude")
    ax.set_aspect("equal", adjustable="box")
    return label_axes(ax, xlabel, ylabel, title)
