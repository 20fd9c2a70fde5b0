r"""Small networks for vector fields $v_\theta(x, t)$ and scores $s_\theta(x, t)$ (Chapters 3-8).

One multilayer perceptron with a sinusoidal time embedding; called as ``net(x, t)`` with ``x`` of
shape ``(N, d)`` and ``t`` a scalar or ``(N,)``, like every vector field in the course.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from coursekit._shapes import as_time, check_points, check_positive_int

__all__ = ["MLP", "TimeEmbedding"]


class TimeEmbedding(nn.Module):
    r"""Sinusoidal features of time, $[\sin(\omega_k t), \cos(\omega_k t)]_{k}$ with geometric $\omega_k$.

    Args:
        dim: Number of features (even).
        max_frequency: Largest $\omega_k$ (time lives in $[0, 1]$).
    """

    frequencies: Tensor  # a buffer of shape (dim // 2,), registered in __init__

    def __init__(self, dim: int = 16, max_frequency: float = 100.0) -> None:
        super().__init__()
        check_positive_int(dim, "dim")
        if dim % 2:
            raise ValueError(f"dim must be even, got {dim}")
        frequencies = torch.exp(torch.linspace(0.0, math.log(max_frequency), dim // 2))
        self.register_buffer("frequencies", frequencies)

    def forward(self, t: Tensor) -> Tensor:
        """Embed times of shape ``(N,)`` into features of shape ``(N, dim)``."""
        angles = t[:, None] * self.frequencies[None, :]  # (N, 1) * (1, dim/2)
        return torch.cat([angles.sin(), angles.cos()], dim=1)  # (N, dim)


class MLP(nn.Module):
    r"""A time-dependent MLP $(x, t) \mapsto v_\theta(x, t) \in \mathbb R^d$ with SiLU activations.

    Args:
        dim: Data dimension $d$.
        hidden: Width of each hidden layer.
        layers: Number of hidden layers.
        time_features: Size of the time embedding (0: the network ignores time).
        out_dim: Output dimension (default $d$).
        max_frequency: Largest frequency of the time embedding: lower values make the field smoother
            in $t$ (cheaper adaptive solves, Chapter 6).
    """

    def __init__(
        self,
        dim: int,
        hidden: int = 128,
        layers: int = 3,
        time_features: int = 16,
        out_dim: int | None = None,
        max_frequency: float = 100.0,
    ) -> None:
        super().__init__()
        for value, name in ((dim, "dim"), (hidden, "hidden"), (layers, "layers")):
            check_positive_int(value, name)
        self.dim = dim
        self.time_embedding = TimeEmbedding(time_features, max_frequency) if time_features else None
        sizes = [dim + time_features] + [hidden] * layers
        blocks: list[nn.Module] = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            blocks += [nn.Linear(n_in, n_out), nn.SiLU()]
        blocks.append(nn.Linear(sizes[-1], out_dim or dim))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: Tensor, t: float | Tensor = 0.0) -> Tensor:
        """Evaluate at ``x`` of shape ``(N, d)`` and ``t`` scalar or ``(N,)``; returns ``(N, out_dim)``."""
        check_points(x, dim=self.dim)
        if self.time_embedding is None:
            return self.net(x)
        t = as_time(t, x).expand(x.shape[0])  # () or (N,) -> (N,)
        return self.net(torch.cat([x, self.time_embedding(t)], dim=1))
