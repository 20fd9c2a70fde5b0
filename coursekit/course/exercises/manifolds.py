"""Checks of the Chapter 8 (manifold-aware noising) exercises."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from coursekit.course.exercises import Check, CheckFailed, expect_close, expect_shape, generator, register
from coursekit.manifolds.constraints import (
    Plane,
    Sphere,
    Torus,
    constraint_violation,
    lift,
    normal_projector,
    project_to_sphere,
)

__all__: list[str] = []

CHAPTER = "08_manifolds"
F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return generator(seed)


# --- manifolds.normal_projector ------------------------------------------------------------------


def _jacobians(seed: int) -> Tensor:
    """Random Jacobians (N, k, d) with k = 2 non-orthonormal rows in R^4, and one k = 1."""
    return torch.randn(5, 2, 4, generator=_gen(seed), dtype=F64)


def _projector_values(fn: Callable) -> None:
    jac = _jacobians(40)
    out = expect_shape(fn(jac), (5, 4, 4), "P_N for J of shape (5, 2, 4)")
    expected = normal_projector(jac)
    eye = torch.eye(4, dtype=F64)
    if torch.allclose(out, eye - expected, atol=1e-8):
        raise CheckFailed("you return the tangent projector I - P_N: the normal space is spanned by the rows of J")
    if torch.allclose(out, jac.mT @ jac, atol=1e-8):
        raise CheckFailed("J^T J is a projector only when the rows of J are orthonormal: use J^T (J J^T)^{-1} J")
    expect_close(out, expected, "P_N = J^T (J J^T)^{-1} J", atol=1e-8)


def _projector_properties(fn: Callable) -> None:
    jac = torch.tensor([[[0.0, 0.0, 3.0]]], dtype=F64)  # the plane x_3 = 0, with a non-unit gradient
    out = expect_shape(fn(jac), (1, 3, 3), "P_N for the plane x_3 = 0")
    expect_close(out @ out, out, "P_N @ P_N (a projector is idempotent)", atol=1e-10)
    tangent = torch.tensor([1.0, -2.0, 0.0], dtype=F64)
    expect_close(out[0] @ tangent, torch.zeros(3, dtype=F64), "P_N applied to a tangent vector", atol=1e-10)


register(
    "manifolds.normal_projector",
    normal_projector,
    CHAPTER,
    [
        Check("matches J^T (J J^T)^{-1} J", _projector_values),
        Check("idempotent, kills tangent vectors", _projector_properties),
    ],
)

# --- manifolds.lift ------------------------------------------------------------------------------


def _lift_given_noise(fn: Callable) -> None:
    sphere = Sphere(2.0)
    z = sphere.project(torch.randn(6, 3, generator=_gen(50), dtype=F64))
    noise = torch.randn(6, 3, generator=_gen(51), dtype=F64)
    out = expect_shape(fn(sphere, z, 0.1, noise=noise), (6, 3), "the lifted points")
    if torch.allclose(out, z + 0.1 * noise):
        raise CheckFailed(
            "your noise is not restricted to the normal space: multiply it by P_N(z) (manifold.normal_projector(z))"
        )
    if torch.allclose(out, z + 0.01 * torch.einsum("nij,nj->ni", sphere.normal_projector(z), noise)):
        raise CheckFailed("the noise is sigma * P_N eps (standard deviation sigma), not sigma^2 * P_N eps")
    expect_close(out, lift(sphere, z, 0.1, noise=noise), "z + sigma * P_N(z) @ noise", atol=1e-10)


def _lift_statistics(fn: Callable) -> None:
    plane = Plane((0.0, 0.0, 1.0), 0.5)
    z = plane.project(torch.randn(4000, 3, generator=_gen(52), dtype=F64))
    out = expect_shape(fn(plane, z, 0.3, generator=_gen(53)), (4000, 3), "the lifted points")
    step = out - z
    if step[:, :2].abs().max() > 1e-10:
        raise CheckFailed("the lift moved points along the plane: the noise must lie in the normal space")
    std = float(step[:, 2].std())
    if abs(std - 0.3) > 0.03:
        raise CheckFailed(f"the normal displacement has standard deviation {std:.3f}, expected sigma = 0.3")
    again = fn(plane, z, 0.3, generator=_gen(53))
    if not torch.equal(out, again):
        raise CheckFailed("two calls with generators seeded alike differ: draw eps from the generator")


register(
    "manifolds.lift",
    lift,
    CHAPTER,
    [
        Check("z + sigma P_N(z) eps for given eps", _lift_given_noise),
        Check("normal noise of standard deviation sigma", _lift_statistics),
    ],
)

# --- manifolds.project_to_sphere -----------------------------------------------------------------


def _sphere_values(fn: Callable) -> None:
    center = torch.tensor([1.0, -0.5, 2.0], dtype=F64)
    x = 3 * torch.randn(10, 3, generator=_gen(60), dtype=F64)
    out = expect_shape(fn(x, center, 1.5), (10, 3), "the projected points")
    radii = (out - center).norm(dim=1)
    if torch.allclose((out - center), (x - center) * 1.5, atol=1e-8):
        raise CheckFailed("normalise x - c to unit length before scaling by the radius")
    if torch.allclose(out.norm(dim=1), torch.full((10,), 1.5, dtype=F64)) or torch.allclose(
        out, 1.5 * x / x.norm(dim=1, keepdim=True)
    ):
        raise CheckFailed("you projected onto the sphere around the origin: subtract the center first and add it back")
    if (radii - 1.5).abs().max() > 1e-8:
        raise CheckFailed(
            f"the projected points are at distances {radii.min():.4f}..{radii.max():.4f} from the "
            "center, not on the sphere of radius 1.5"
        )
    expect_close(out, project_to_sphere(x, center, 1.5), "c + r (x - c) / ||x - c||", atol=1e-10)


def _sphere_nearest(fn: Callable) -> None:
    center = torch.zeros(2, dtype=F64)
    x = torch.tensor([[3.0, 4.0], [0.0, -0.5]], dtype=F64)
    expect_close(
        fn(x, center, 1.0),
        torch.tensor([[0.6, 0.8], [0.0, -1.0]], dtype=F64),
        "the projections of (3, 4) and (0, -0.5) onto the unit circle (points inside move outwards)",
        atol=1e-10,
    )


register(
    "manifolds.project_to_sphere",
    project_to_sphere,
    CHAPTER,
    [Check("lands on the sphere, nearest point", _sphere_values), Check("known values in 2D", _sphere_nearest)],
)

# --- manifolds.constraint_violation --------------------------------------------------------------


class _TwoConstraints(Plane):
    """A line in R^3 as two constraints x_1 = 0, x_2 = 0 (so h has k = 2 columns)."""

    def h(self, x: Tensor) -> Tensor:
        return x[:, :2]


def _violation_values(fn: Callable) -> None:
    torus = Torus(1.0, 0.4)
    x = 1.5 * torch.randn(9, 3, generator=_gen(70), dtype=F64)
    x = torch.cat([x[:7], torch.tensor([[1.1, 0.0, 0.1], [0.0, -0.8, -0.2]], dtype=F64)])  # two inside the tube
    out = expect_shape(fn(torus, x), (9,), "the violation of 9 points")
    h = torus.h(x)[:, 0]
    if torch.allclose(out, h) and bool((h < 0).any()):
        raise CheckFailed("the violation must be non-negative: take the norm of h(x), not h(x) itself")
    if torch.allclose(out, h**2):
        raise CheckFailed("you return the squared violation; take the Euclidean norm ||h(x)||")
    expect_close(out, constraint_violation(torus, x), "||h(x)|| for the torus", atol=1e-10)
    on = torus.project(x)
    expect_close(fn(torus, on), torch.zeros(9, dtype=F64), "the violation of points on the torus", atol=1e-10)


def _violation_vector(fn: Callable) -> None:
    x = torch.tensor([[3.0, 4.0, 1.0], [0.0, 0.0, 7.0]], dtype=F64)
    out = expect_shape(fn(_TwoConstraints(), x), (2,), "the violation with two constraints h = (x_1, x_2)")
    if torch.allclose(out, torch.tensor([7.0, 0.0], dtype=F64)):
        raise CheckFailed("with k = 2 constraints, take the norm over the k values of h(x), not their sum")
    expect_close(out, torch.tensor([5.0, 0.0], dtype=F64), "||h(x)|| with h = (x_1, x_2)", atol=1e-10)


register(
    "manifolds.constraint_violation",
    constraint_violation,
    CHAPTER,
    [Check("||h(x)|| per point", _violation_values), Check("norm over several constraints", _violation_vector)],
)
