r"""A class-conditional network $f_\theta(x, t, y)$ with a learned label embedding and a null label (Chapter 7).

Classifier-free guidance needs one network that is both conditional and unconditional: the label
$y \in \{0, \dots, K-1\}$ is embedded by a table with one extra row, the *null label*
$\varnothing = K$, which stands for "no label". Trained with label dropout
(:func:`coursekit.guidance.guided.drop_labels`), $f_\theta(x, t, \varnothing)$ learns the unconditional
score or velocity and $f_\theta(x, t, y)$ the conditional one (Ho & Salimans 2022).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from coursekit._shapes import check_points, check_positive_int
from coursekit.nn.networks import MLP

__all__ = ["ConditionalMLP", "as_labels"]


def as_labels(y: int | Tensor, x: Tensor, num_labels: int) -> Tensor:
    """Return labels as a ``long`` tensor of shape ``(N,)`` on ``x``'s device (an int is repeated).

    Args:
        y: A label (int) or labels of shape ``(N,)``.
        x: Points, shape ``(N, d)``.
        num_labels: Number of valid label values, ``0 .. num_labels - 1``.

    Returns:
        Labels of shape ``(N,)``.
    """
    labels = torch.as_tensor(y, device=x.device)
    if labels.is_floating_point():
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    labels = labels.long()
    if labels.ndim == 0:
        labels = labels.expand(x.shape[0])
    if labels.shape != (x.shape[0],):
        raise ValueError(f"labels must be an int or have shape (N,) = ({x.shape[0]},), got {tuple(labels.shape)}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_labels):
        raise ValueError(
            f"labels must lie in 0..{num_labels - 1}, got values in {int(labels.min())}..{int(labels.max())}"
        )
    return labels


class ConditionalMLP(nn.Module):
    r"""$f_\theta(x, t, y)$: an :class:`~coursekit.nn.networks.MLP` fed with $[x, e(y)]$ and time features.

    Args:
        dim: Data dimension $d$ (the output has the same size).
        num_classes: Number of classes $K$; the null label is ``K`` (:attr:`null_label`).
        hidden: Width of the hidden layers.
        layers: Number of hidden layers.
        time_features: Size of the sinusoidal time embedding.
        label_features: Size of the learned label embedding $e(y)$.

    Example:
        >>> net = ConditionalMLP(2, num_classes=3, hidden=16, layers=2)
        >>> net(torch.zeros(4, 2), 0.5, torch.tensor([0, 1, 2, net.null_label])).shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        dim: int,
        num_classes: int,
        hidden: int = 128,
        layers: int = 3,
        time_features: int = 16,
        label_features: int = 16,
    ) -> None:
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(label_features, "label_features")
        self.dim, self.num_classes = dim, num_classes
        self.label_embedding = nn.Embedding(num_classes + 1, label_features)  # row K is the null label
        self.mlp = MLP(dim + label_features, hidden, layers, time_features, out_dim=dim)

    @property
    def null_label(self) -> int:
        r"""The index of the null label $\varnothing$ (``num_classes``)."""
        return self.num_classes

    def forward(self, x: Tensor, t: float | Tensor, y: int | Tensor) -> Tensor:
        """Evaluate at ``x`` ``(N, d)``, ``t`` scalar or ``(N,)``, labels ``y`` int or ``(N,)`` (null label allowed).

        Returns:
            Shape ``(N, d)``.
        """
        check_points(x, dim=self.dim)
        labels = as_labels(y, x, self.num_classes + 1)
        return self.mlp(torch.cat([x, self.label_embedding(labels).to(x.dtype)], dim=1), t)
