r"""The assignment problem behind exact minibatch OT and the $W_2$ of samples (Chapters 2, 5, 9).

For two samples of the same size $N$ with uniform weights, the optimal-transport plan for a cost
matrix $C$ is a permutation (the vertices of the polytope of doubly stochastic matrices are
permutation matrices, Birkhoff's theorem):
$$\pi^\star = \arg\min_{\pi \in S_N} \sum_{i=1}^N C_{i\,\pi(i)} .$$
We solve it with POT's network simplex (``ot.emd``), which returns a vertex of the polytope and
is several times faster than the Hungarian algorithm on the clustered costs of generative
modeling (data against Gaussian noise); SciPy's ``linear_sum_assignment`` is the fallback.
"""

from __future__ import annotations

import numpy as np
import ot
from scipy.optimize import linear_sum_assignment

__all__ = ["optimal_assignment"]


def optimal_assignment(cost: np.ndarray) -> np.ndarray:
    r"""The permutation ``perm`` minimising ``cost[i, perm[i]].sum()`` (Chapters 2, 5, 9).

    Args:
        cost: Cost matrix, shape ``(N, N)``, finite.

    Returns:
        ``perm``, int64 array of shape ``(N,)``: row ``i`` is matched to column ``perm[i]``.

    Example:
        >>> optimal_assignment(np.array([[0.0, 5.0], [5.0, 1.0]]))
        array([0, 1])
    """
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(f"cost must be a square (N, N) matrix, got shape {cost.shape}")
    if not np.isfinite(cost).all():
        raise ValueError("cost contains NaN or inf")
    n = cost.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    weights = np.full(n, 1.0 / n)
    plan, log = ot.emd(weights, weights, cost, numItermax=max(100_000, 50 * n * n), log=True)
    perm = plan.argmax(axis=1)
    if log.get("warning") is None and np.unique(perm).size == n and np.allclose(plan.max(axis=1), 1.0 / n):
        return perm.astype(np.int64)
    return linear_sum_assignment(cost)[1].astype(np.int64)  # a degenerate or unconverged plan: exact fallback
