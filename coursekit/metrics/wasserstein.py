r"""Sample-quality metrics (Chapters 2, 5, 6, 9).

The 2-Wasserstein distance between two equally sized samples is an assignment problem:
$$W_2(x, y)^2 = \min_{\pi \in S_N} \frac1N \sum_n \|x_n - y_{\pi(n)}\|^2,$$
solved exactly (:func:`coursekit.metrics.assignment.optimal_assignment`). A W2 means little alone: report it next to the
*data floor*, the W2 between two independent samples of the data of the same size, as mean +- sd over
several draws: :func:`coursekit.metrics.floors.data_floor` (one definition and size for the whole
course) and :func:`coursekit.metrics.floors.model_w2` (a model's W2 printed beside it).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from coursekit._shapes import check_points
from coursekit.metrics.assignment import optimal_assignment

__all__ = ["mean_wasserstein2", "wasserstein2"]


def wasserstein2(x: Tensor, y: Tensor) -> float:
    r"""Exact $W_2$ between the empirical distributions of ``x`` and ``y`` (equal sizes).

    Args:
        x: Samples, shape ``(N, d)``.
        y: Samples, shape ``(N, d)``.

    Returns:
        $W_2$ as a float. Cost $O(N^3)$: keep $N \le$ a few thousand.

    Example:
        >>> wasserstein2(torch.zeros(3, 2), torch.ones(3, 2))
        1.4142135623730951
    """
    check_points(x, "x")
    check_points(y, "y", dim=x.shape[1])
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of points, got {x.shape[0]} and {y.shape[0]}")
    cost = (torch.cdist(x.detach().double().cpu(), y.detach().double().cpu()) ** 2).numpy()
    perm = optimal_assignment(cost)
    return math.sqrt(float(cost[range(len(perm)), perm].mean()))


def mean_wasserstein2(x: Tensor, y: Tensor, chunks: int = 4) -> float:
    r"""Mean of $W_2$ over ``chunks`` matched chunks of ``x`` and ``y``: a steadier estimate (Chapters 6, 9).

    $$\overline{W}_2 = \frac1K \sum_{k=1}^K W_2\big(x^{(k)}, y^{(k)}\big),$$
    with $x^{(k)}, y^{(k)}$ the $k$-th of $K$ consecutive equal chunks. One $W_2$ between 1000 points
    of two samples of the same law varies by about $\pm 20\%$ from seed to seed; the mean over chunks
    varies less and costs less ($K$ problems of size $N/K$). Compare it only with a data floor
    computed the same way (same $N$ and $K$).

    Args:
        x: Samples, shape ``(N, d)``, ``N`` divisible by ``chunks``.
        y: Samples, shape ``(N, d)``.
        chunks: Number of chunks $K$.

    Returns:
        The mean $W_2$, a float.

    Example:
        >>> mean_wasserstein2(torch.zeros(4, 2), torch.ones(4, 2), chunks=2)
        1.4142135623730951
    """
    check_points(x, "x")
    if x.shape[0] != y.shape[0] or x.shape[0] % chunks:
        raise ValueError(
            f"x and y need the same number of points, divisible by chunks={chunks}; got {x.shape[0]} and {y.shape[0]}"
        )
    size = x.shape[0] // chunks
    return sum(wasserstein2(a, b) for a, b in zip(x.split(size), y.split(size), strict=True)) / chunks
