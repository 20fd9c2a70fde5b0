r"""The course's figure style and the helpers every drawing module shares (used from Chapter 1 on).

:func:`set_style` sets the matplotlib defaults of every chapter. The other names are the small
conventions that :mod:`coursekit.viz.plotting`, :mod:`coursekit.viz.fields` and
:mod:`coursekit.viz.animation` share: inputs may be torch tensors on any device (with or without
``requires_grad``) or NumPy arrays (:func:`to_numpy`), axis limits are ``(lo, hi)`` or
``((x0, x1), (y0, y1))`` (:func:`parse_lims`), and every figure labels both axes
(:func:`label_axes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["ArrayLike", "Lims", "axes_or_new", "label_axes", "parse_lims", "set_style", "to_numpy"]

ArrayLike = Tensor | np.ndarray | Sequence[float]
"""Data as every drawing function accepts it (a tensor on any device, an array, or a sequence)."""

Lims = tuple[float, float] | tuple[tuple[float, float], tuple[float, float]]
"""Axis limits, ``(lo, hi)`` for both axes or ``((x0, x1), (y0, y1))`` (see :func:`parse_lims`)."""

_STYLE: dict[RcKeyType, Any] = {
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


def to_numpy(x: ArrayLike | Sequence[ArrayLike], name: str) -> np.ndarray:
    """Return a float64 NumPy copy of a tensor (any device, any float dtype), an array, or a sequence of them.

    Args:
        x: A tensor, an array, a sequence of numbers, or a sequence of tensors or arrays of one
            shape (stacked along a new first axis).
        name: The argument's name, for the error message.

    Returns:
        A float64 array of the same shape (detached from any autograd graph).

    Raises:
        TypeError: If ``x`` cannot be read as an array of numbers.

    Example:
        >>> to_numpy([torch.zeros(2), torch.ones(2)], "frames").shape
        (2, 2)
    """
    if isinstance(x, Tensor):
        return x.detach().cpu().to(torch.float64).numpy()
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], (Tensor, np.ndarray)):
        return np.stack([to_numpy(item, f"{name}[{i}]") for i, item in enumerate(x)])
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a tensor or an array, got {type(x).__name__}") from None


def axes_or_new(ax: Axes | None) -> Axes:
    """Return ``ax``, or the ``Axes`` of a new figure when ``ax`` is ``None``."""
    return plt.subplots()[1] if ax is None else ax


def parse_lims(lims: Lims, name: str = "lims") -> tuple[tuple[float, float], tuple[float, float]]:
    """Turn axis limits ``(lo, hi)`` or ``((x0, x1), (y0, y1))`` into the second form.

    Args:
        lims: ``(lo, hi)`` for both axes, or one pair per axis.
        name: The argument's name, for the error message.

    Returns:
        ``((x0, x1), (y0, y1))`` as Python floats.

    Raises:
        ValueError: If the limits are not finite pairs with ``lo < hi``.

    Example:
        >>> parse_lims((-1, 2))
        ((-1.0, 2.0), (-1.0, 2.0))
    """
    arr = to_numpy(lims, name)
    if arr.shape == (2,):
        arr = np.stack([arr, arr])
    if arr.shape != (2, 2) or not np.all(np.isfinite(arr)) or np.any(arr[:, 0] >= arr[:, 1]):
        raise ValueError(f"{name} must be (lo, hi) or ((x0, x1), (y0, y1)) with lo < hi, got {lims!r}")
    return (float(arr[0, 0]), float(arr[0, 1])), (float(arr[1, 0]), float(arr[1, 1]))


def label_axes(ax: Axes, xlabel: str, ylabel: str, title: str | None = None) -> Axes:
    """Label both axes of ``ax`` (and set its title when one is given); return ``ax``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    return ax
