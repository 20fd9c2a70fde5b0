r"""Couplings of data and noise for flow matching: independent pairs or minibatch optimal transport (Chapter 5).

Conditional flow matching draws pairs $(x_{\text{data}}, x_{\text{noise}})$ from a coupling $\pi$ of the
data and $\mathcal N(0, I)$. The independent coupling (I-CFM) is the product of the two laws; pairing a
minibatch by exact optimal transport (OT-CFM, Tong et al. 2023) gives straighter marginal paths.
"""

from __future__ import annotations

import torch
from torch import Tensor

from coursekit._shapes import check_points
from coursekit.metrics.assignment import optimal_assignment

__all__ = ["COUPLINGS", "check_pair", "ot_coupling"]

#: The couplings :func:`coursekit.flows.flow_matching.sample_path` knows: I-CFM and OT-CFM.
COUPLINGS: tuple[str, ...] = ("independent", "ot")


def check_pair(x_data: Tensor, x_noise: Tensor) -> None:
    """Check that ``x_data`` and ``x_noise`` are two batches ``(N, d)`` of the same shape, or raise ``ValueError``."""
    check_points(x_data, "x_data")
    check_points(x_noise, "x_noise", dim=x_data.shape[1])
    if x_noise.shape[0] != x_data.shape[0]:
        raise ValueError(
            f"x_data and x_noise must have the same number of points, got {x_data.shape[0]} and {x_noise.shape[0]}"
        )


def ot_coupling(x_data: Tensor, x_noise: Tensor) -> Tensor:
    r"""Exact minibatch optimal-transport pairing for the squared distance (Chapter 5, exercise).

    Solves the assignment problem
    $$\pi^\star = \arg\min_{\pi \in S_N} \sum_{i=1}^N \|x_{\text{data},i} - x_{\text{noise},\pi(i)}\|^2$$
    exactly (:func:`coursekit.metrics.assignment.optimal_assignment`: POT's network simplex), as in OT-CFM
    (Tong et al., 2023), where a batch is small enough for the exact plan.

    Args:
        x_data: Data minibatch, shape ``(N, d)``.
        x_noise: Noise minibatch, shape ``(N, d)``.

    Returns:
        The permutation ``perm`` (int64, shape ``(N,)``, on ``x_data``'s device): ``x_noise[perm]``
        is the noise paired with ``x_data``.

    Example:
        >>> ot_coupling(torch.tensor([[0.0], [5.0]]), torch.tensor([[5.1], [0.2]]))
        tensor([1, 0])
    """
    check_pair(x_data, x_noise)
    cost = torch.cdist(x_data.detach().double().cpu(), x_noise.detach().double().cpu()) ** 2  # (N, N)
    return torch.as_tensor(optimal_assignment(cost.numpy()), dtype=torch.long, device=x_data.device)
