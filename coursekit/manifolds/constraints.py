r"""Constraint manifolds $\mathcal M = \{x : h(x) = 0\}$ with their projections (Chapter 8).

Data that satisfy constraints $h(x) = 0$, $h : \mathbb R^d \to \mathbb R^{d-m}$, live on an
$m$-dimensional manifold and have no density in $\mathbb R^d$. A :class:`Manifold` gives $h$, its
Jacobian $J = \partial h/\partial x$, the **projection** $\Pi(x) = \arg\min_{z \in \mathcal M}\|x - z\|$
and the reach; the noising that uses them (normal projector, lift) is in
:mod:`coursekit.manifolds.normal_bundle`.

Each $h$ below is a signed distance (a plane, a sphere, a torus here; a triangle mesh in
:mod:`coursekit.manifolds.meshes`), so $|h(x)|$ is the distance to $\mathcal M$ and $\nabla h$ the unit normal.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive
from coursekit.manifolds.normal_bundle import lift, normal_projector, tangent_projector

__all__ = ["Manifold", "Plane", "Sphere", "Torus", "constraint_violation", "project_to_sphere"]


def _unit(v: Tensor, eps: float = 1e-12) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(eps)


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
        r"""$z + n$, $n \sim \mathcal N(0, \sigma^2 P_N(z))$; see :func:`~coursekit.manifolds.normal_bundle.lift`."""
        return lift(self, z, sigma, generator=generator)

    def violation(self, x: Tensor) -> Tensor:
        r"""$\|h(x)\|$, the distance to $\mathcal M$, shape ``(N,)``; see :func:`constraint_violation`."""
        return constraint_violation(self, x)


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
        r"""$h(x) = n^\top x - b$, shape ``(N, 1)``."""
        check_points(x, dim=self.dim)
        return (x @ self.n.to(x) - self.offset)[:, None]

    def jacobian(self, x: Tensor) -> Tensor:
        r"""$J = n^\top$ at every point, shape ``(N, 1, d)``."""
        check_points(x, dim=self.dim)
        return self.n.to(x).expand(x.shape[0], 1, self.dim)

    def project(self, x: Tensor) -> Tensor:
        r"""$\Pi(x) = x - h(x)\,n$, shape ``(N, d)``."""
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
        r"""$h(x) = \|x - c\| - r$, shape ``(N, 1)``."""
        check_points(x, dim=self.dim)
        return ((x - self.center.to(x)).norm(dim=1) - self.radius)[:, None]

    def jacobian(self, x: Tensor) -> Tensor:
        r"""$J = (x - c)^\top / \|x - c\|$, shape ``(N, 1, d)``."""
        check_points(x, dim=self.dim)
        return _unit(x - self.center.to(x))[:, None, :]

    def project(self, x: Tensor) -> Tensor:
        r"""$\Pi(x) = c + r\,(x - c)/\|x - c\|$, shape ``(N, d)``; see :func:`project_to_sphere`."""
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
        r"""Nearest point of the core circle $\{\rho = R, x_3 = 0\}$, shape ``(N, 3)``."""
        check_points(x, dim=3)
        planar = torch.cat([x[:, :2], torch.zeros_like(x[:, :1])], dim=1)
        on_axis = planar.norm(dim=1, keepdim=True) == 0
        planar = torch.where(on_axis, torch.tensor([1.0, 0.0, 0.0]).to(x), planar)
        return self.major * _unit(planar)

    def h(self, x: Tensor) -> Tensor:
        r"""$h(x) = \|x - c(x)\| - r$, $c(x)$ the nearest point of the core circle, shape ``(N, 1)``."""
        return ((x - self._core(x)).norm(dim=1) - self.minor)[:, None]

    def jacobian(self, x: Tensor) -> Tensor:
        r"""$J = (x - c(x))^\top / \|x - c(x)\|$, shape ``(N, 1, 3)``."""
        return _unit(x - self._core(x))[:, None, :]

    def project(self, x: Tensor) -> Tensor:
        r"""$\Pi(x) = c(x) + r\,(x - c(x))/\|x - c(x)\|$, shape ``(N, 3)``."""
        core = self._core(x)
        return project_to_sphere(x - core, torch.zeros(3).to(x), self.minor) + core
