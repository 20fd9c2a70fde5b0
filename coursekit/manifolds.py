r"""Constraint manifolds $\mathcal M = \{x : h(x) = 0\}$ and manifold-aware noising (Chapter 8).

Data that satisfy constraints $h(x) = 0$, $h : \mathbb R^d \to \mathbb R^{d-m}$, live on an
$m$-dimensional manifold and have no density in $\mathbb R^d$. Keegan & Ruthotto (2026) perturb them
only in the directions normal to $\mathcal M$ and project back at the end:

* the **normal projector** at $z \in \mathcal M$, $P_N(z) = J^\top (J J^\top)^{-1} J$ with $J = \partial h/\partial x$;
* the **lift** $x = z + n$, $n \mid z \sim \mathcal N(0, \sigma^2 P_N(z))$: a full-dimensional
  density $p_\sigma$ that any generative model can learn;
* the **projection** $\Pi(x) = \arg\min_{z \in \mathcal M}\|x - z\|$, which undoes the lift exactly
  when $\|n\|$ is below the reach of $\mathcal M$.

Each $h$ below is a signed distance (a plane, a sphere, a torus here; a triangle mesh in
:mod:`coursekit.meshes`), so $|h(x)|$ is the distance to $\mathcal M$ and $\nabla h$ the unit normal.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive
from coursekit.rng import randn_like

__all__ = [
    "Manifold",
    "Plane",
    "Sphere",
    "Torus",
    "constraint_violation",
    "lift",
    "normal_projector",
    "project_to_sphere",
    "sample_projected_mixture",
    "tangent_projector",
]


def _unit(v: Tensor, eps: float = 1e-12) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(eps)


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


class Manifold(ABC):
    r"""A constraint manifold $\{h(x) = 0\} \subset \mathbb R^d$ with its projection (Chapter 8).

    Subclasses give $h$ (a signed distance), its Jacobian, the projection and the reach.
    """

    dim: int = 3
    codim: int = 1
    reach: float = math.inf

    @abstractmethod
    def h(self, x: Tensor) -> Tensor:
        """Constraint values $h(x)$, shape ``(N, k)``, for ``x`` of shape ``(N, d)``."""

    @abstractmethod
    def jacobian(self, x: Tensor) -> Tensor:
        r"""$J = \partial h / \partial x$, shape ``(N, k, d)``."""

    @abstractmethod
    def project(self, x: Tensor) -> Tensor:
        r"""$\Pi(x)$, the nearest point of $\mathcal M$, shape ``(N, d)``."""

    def normal_projector(self, z: Tensor) -> Tensor:
        r"""$P_N(z)$, shape ``(N, d, d)``, at points ``z`` ``(N, d)`` of $\mathcal M$."""
        return normal_projector(self.jacobian(check_points(z, "z", dim=self.dim)))

    def tangent_projector(self, z: Tensor) -> Tensor:
        r"""$P_T(z) = I - P_N(z)$, shape ``(N, d, d)``."""
        return tangent_projector(self.jacobian(check_points(z, "z", dim=self.dim)))

    def lift(self, z: Tensor, sigma: float, *, generator: torch.Generator | None = None) -> Tensor:
        r"""$z + n$ with $n \sim \mathcal N(0, \sigma^2 P_N(z))$; see :func:`lift`."""
        return lift(self, z, sigma, generator=generator)

    def violation(self, x: Tensor) -> Tensor:
        r"""$\|h(x)\|$, the distance to $\mathcal M$, shape ``(N,)``; see :func:`constraint_violation`."""
        return constraint_violation(self, x)


def lift(
    manifold: Manifold, z: Tensor, sigma: float, *, generator: torch.Generator | None = None,
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


def constraint_violation(manifold: Manifold, x: Tensor) -> Tensor:
    r"""The constraint violation $\|h(x)\|_2$ of each point (Chapter 8, exercise).

    Args:
        manifold: The manifold (gives ``h(x)`` of shape ``(N, k)``).
        x: Points, shape ``(N, d)``.

    Returns:
        Non-negative violations, shape ``(N,)``; zero exactly on $\mathcal M$.
    """
    return manifold.h(check_points(x)).norm(dim=1)


def project_to_sphere(x: Tensor, center: Tensor, radius: float) -> Tensor:
    r"""Nearest point of a sphere, $\Pi(x) = c + r\,\frac{x - c}{\|x - c\|}$ (Chapter 8, exercise).

    Undefined at the center (every point of the sphere is nearest); there the result is $c + r e$
    for an arbitrary direction $e$ rather than NaN.

    Args:
        x: Points, shape ``(N, d)``.
        center: $c$, shape ``(d,)``.
        radius: $r > 0$.

    Returns:
        Points on the sphere, shape ``(N, d)``.

    Example:
        >>> project_to_sphere(torch.tensor([[3.0, 4.0]]), torch.zeros(2), 1.0)
        tensor([[0.6000, 0.8000]])
    """
    check_points(x)
    offset = x - center
    at_center = offset.norm(dim=1, keepdim=True) == 0
    offset = torch.where(at_center, torch.ones_like(offset), offset)
    return center + radius * _unit(offset)


class Plane(Manifold):
    r"""The plane $\{x \in \mathbb R^3 : n^\top x = b\}$, $\|n\| = 1$ (reach $\infty$), Chapter 8.

    Args:
        normal: A normal vector (normalised here), shape ``(3,)``.
        offset: $b$, the signed distance of the plane from the origin.
    """

    def __init__(self, normal: Tensor | tuple[float, ...] = (1.0, 1.0, 1.0), offset: float = 0.0) -> None:
        self.n = _unit(torch.as_tensor(normal, dtype=torch.float64))
        self.offset = float(offset)
        self.dim = self.n.shape[0]
        helper = torch.eye(self.dim, dtype=torch.float64)[int(self.n.abs().argmin())]
        first = _unit(helper - (helper @ self.n) * self.n)  # an orthonormal basis of the plane
        basis = [first] + ([torch.linalg.cross(self.n, first)] if self.dim == 3 else [])
        self.basis = torch.stack(basis)  # (d-1, d) for d = 3; (1, d) otherwise

    def h(self, x: Tensor) -> Tensor:
        check_points(x, dim=self.dim)
        return (x @ self.n.to(x) - self.offset)[:, None]

    def jacobian(self, x: Tensor) -> Tensor:
        check_points(x, dim=self.dim)
        return self.n.to(x).expand(x.shape[0], 1, self.dim)

    def project(self, x: Tensor) -> Tensor:
        return x - self.h(x) * self.n.to(x)

    def embed(self, uv: Tensor) -> Tensor:
        r"""Place 2D points $(u, v)$ on the plane: $b\,n + u\,e_1 + v\,e_2$; ``(N, 2)`` -> ``(N, 3)``."""
        check_points(uv, "uv", dim=self.basis.shape[0])
        return self.offset * self.n.to(uv) + uv @ self.basis.to(uv)


class Sphere(Manifold):
    r"""The sphere $\{\|x - c\| = r\}$, $h(x) = \|x - c\| - r$ (reach $r$), Chapter 8.

    Args:
        radius: $r > 0$.
        center: $c$, shape ``(d,)`` (default the origin of $\mathbb R^3$).
    """

    def __init__(self, radius: float = 1.0, center: Tensor | None = None) -> None:
        self.radius = check_positive(radius, "radius")
        self.center = torch.zeros(3, dtype=torch.float64) if center is None else torch.as_tensor(center).double()
        self.dim = self.center.shape[0]
        self.reach = self.radius

    def h(self, x: Tensor) -> Tensor:
        check_points(x, dim=self.dim)
        return ((x - self.center.to(x)).norm(dim=1) - self.radius)[:, None]

    def jacobian(self, x: Tensor) -> Tensor:
        check_points(x, dim=self.dim)
        return _unit(x - self.center.to(x))[:, None, :]

    def project(self, x: Tensor) -> Tensor:
        check_points(x, dim=self.dim)
        return project_to_sphere(x, self.center.to(x), self.radius)


class Torus(Manifold):
    r"""The torus around the $x_3$-axis, $h(x) = \sqrt{(\rho - R)^2 + x_3^2} - r$ (Chapter 8).

    Here $\rho = \sqrt{x_1^2 + x_2^2}$.

    Its nearest point: go to the nearest point $c$ of the core circle, then to the sphere of radius
    $r$ around $c$. Reach $\min(r, R - r)$.

    Args:
        major: $R$, radius of the core circle.
        minor: $r < R$, radius of the tube.
    """

    def __init__(self, major: float = 1.0, minor: float = 0.4) -> None:
        self.major, self.minor = check_positive(major, "major"), check_positive(minor, "minor")
        if self.minor >= self.major:
            raise ValueError(f"need minor < major, got {minor} and {major}")
        self.reach = min(self.minor, self.major - self.minor)

    def _core(self, x: Tensor) -> Tensor:
        """Nearest point of the core circle $\\{\\rho = R, x_3 = 0\\}$, shape ``(N, 3)``."""
        check_points(x, dim=3)
        planar = torch.cat([x[:, :2], torch.zeros_like(x[:, :1])], dim=1)
        on_axis = planar.norm(dim=1, keepdim=True) == 0
        planar = torch.where(on_axis, torch.tensor([1.0, 0.0, 0.0]).to(x), planar)
        return self.major * _unit(planar)

    def h(self, x: Tensor) -> Tensor:
        return ((x - self._core(x)).norm(dim=1) - self.minor)[:, None]

    def jacobian(self, x: Tensor) -> Tensor:
        return _unit(x - self._core(x))[:, None, :]

    def project(self, x: Tensor) -> Tensor:
        core = self._core(x)
        return project_to_sphere(x - core, torch.zeros(3).to(x), self.minor) + core


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
    gen_device = generator.device if generator is not None else means.device
    k = torch.randint(0, means.shape[0], (n,), generator=generator, device=gen_device).to(means.device)
    y = means[k] + std * randn_like(means[k], generator=generator)
    return manifold.project(y)
