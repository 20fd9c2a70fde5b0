r"""Noising in the normal bundle of a constraint manifold: projectors, the lift, projected data (Chapter 8).

Keegan & Ruthotto (2026) perturb data on $\mathcal M = \{h = 0\}$ only in the directions normal to
$\mathcal M$ and project back at the end:

* the **normal projector** at $z \in \mathcal M$, $P_N(z) = J^\top (J J^\top)^{-1} J$ with $J = \partial h/\partial x$,
  and the tangent projector $P_T = I - P_N$;
* the **lift** $x = z + n$, $n \mid z \sim \mathcal N(0, \sigma^2 P_N(z))$: a full-dimensional
  density $p_\sigma$ that any generative model can learn; the projection $\Pi$ undoes it exactly
  when $\|n\|$ is below the reach of $\mathcal M$.

The manifolds themselves ($h$, $J$, $\Pi$) are in :mod:`coursekit.manifolds.constraints` and
:mod:`coursekit.manifolds.meshes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive
from coursekit.rng import randint, randn_like

if TYPE_CHECKING:
    from coursekit.manifolds.constraints import Manifold

__all__ = ["lift", "normal_projector", "sample_projected_mixture", "tangent_projector"]


def normal_projector(jacobian: Tensor) -> Tensor:
    r"""Orthogonal projector onto the normal space, $P_N = J^\top (J J^\top)^{-1} J$ (Chapter 8, exercise).

    The rows of $J = \partial h / \partial x$ span the normal space $N_z\mathcal M$ (they need not be
    orthonormal); $P_N$ is symmetric, idempotent ($P_N^2 = P_N$), and zero on tangent vectors.

    Args:
        jacobian: $J$ at each point, shape ``(N, k, d)`` with full row rank $k$.

    Returns:
        $P_N$, shape ``(N, d, d)``.

    Example:
        >>> normal_projector(torch.tensor([[[0.0, 0.0, 2.0]]]))[0]
        tensor([[0., 0., 0.],
                [0., 0., 0.],
                [0., 0., 1.]])
    """
    if not isinstance(jacobian, Tensor) or jacobian.ndim != 3:
        raise ValueError(f"jacobian must have shape (N, k, d), got {getattr(jacobian, 'shape', type(jacobian))}")
    gram = jacobian @ jacobian.mT  # (N, k, k)
    return jacobian.mT @ torch.linalg.solve(gram, jacobian)  # (N, d, k) @ (N, k, d)


def tangent_projector(jacobian: Tensor) -> Tensor:
    r"""Projector onto the tangent space, $P_T = I - P_N$ (Chapter 8); ``jacobian`` ``(N, k, d)`` -> ``(N, d, d)``."""
    p_normal = normal_projector(jacobian)
    return torch.eye(p_normal.shape[-1], dtype=p_normal.dtype, device=p_normal.device) - p_normal


def lift(
    manifold: Manifold,
    z: Tensor,
    sigma: float,
    *,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
) -> Tensor:
    r"""Lift into the normal bundle, $x = z + \sigma P_N(z)\,\varepsilon$ (Chapter 8, exercise).

    Here $\varepsilon \sim \mathcal N(0, I)$.

    Since $P_N$ is a symmetric projector, $\sigma P_N\varepsilon \sim \mathcal N(0, \sigma^2 P_N(z))$: Gaussian
    noise of standard deviation $\sigma$ along the normal directions and none along the manifold.

    Args:
        manifold: The manifold (gives ``normal_projector``).
        z: Points on the manifold, shape ``(N, d)``.
        sigma: Noise level $\sigma > 0$.
        generator: Source of randomness for $\varepsilon$.
        noise: Optional $\varepsilon$, shape ``(N, d)``.

    Returns:
        Lifted points, shape ``(N, d)``.
    """
    check_points(z, "z")
    sigma = check_positive(sigma, "sigma")
    eps = randn_like(z, generator=generator) if noise is None else noise
    if eps.shape != z.shape:
        raise ValueError(f"noise must have the shape of z {tuple(z.shape)}, got {tuple(eps.shape)}")
    return z + sigma * torch.einsum("nij,nj->ni", manifold.normal_projector(z), eps)


def sample_projected_mixture(
    manifold: Manifold, means: Tensor, std: float, n: int, *, generator: torch.Generator | None = None
) -> Tensor:
    r"""Draw $\Pi(y)$ for $y$ from an equal-weight mixture $\frac1K\sum_k\mathcal N(\mu_k, s^2 I)$ (Chapter 8).

    On the sphere with $\mu_k$ on it this is a mixture of *projected normal* laws, a smooth density
    on $\mathcal M$ with bumps at the $\mu_k$.

    Args:
        manifold: Where to project.
        means: $\mu_k$, shape ``(K, d)``.
        std: $s > 0$.
        n: Number of points.
        generator: Source of randomness (component indices, then the Gaussian noise).

    Returns:
        Points on $\mathcal M$, shape ``(n, d)``, in ``means``' dtype.
    """
    check_points(means, "means")
    check_positive(std, "std")
    k = randint(0, means.shape[0], (n,), generator=generator, device=means.device)  # (n,) component indices
    y = means[k] + std * randn_like(means[k], generator=generator)
    return manifold.project(y)
