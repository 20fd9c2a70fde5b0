"""Constraint manifolds (Chapter 8): projectors, projection, lift, the mesh surface (more in test_meshes.py)."""

import math

import pytest
import torch

from coursekit import manifolds as mf
from coursekit.manifolds import meshes

F64 = torch.float64


@pytest.fixture(scope="module")
def mesh():
    return meshes.bumpy_sphere(subdivisions=2)


def _analytic():
    return [mf.Plane((1.0, 2.0, -2.0), 0.7), mf.Sphere(1.5, torch.tensor([0.5, 0.0, -1.0])), mf.Torus(1.0, 0.4)]


def _on(manifold, n, seed):
    return manifold.project(2 * torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=F64))


def test_projection_lands_on_the_manifold(mesh):
    for manifold in _analytic() + [mesh]:
        z = _on(manifold, 300, 0)
        assert manifold.violation(z).max() < 1e-6, type(manifold).__name__
        assert torch.allclose(manifold.project(z), z, atol=1e-9)  # projecting twice changes nothing


def test_projection_is_the_nearest_point(mesh):
    """No point of a dense sample of the manifold is closer than the projection."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(50, 3, generator=gen, dtype=F64)
    for manifold in _analytic() + [mesh]:
        dense = (
            _on(manifold, 20000, 2)
            if not isinstance(manifold, meshes.MeshSurface)
            else mesh.sample(20000, generator=gen)
        )
        best = torch.cdist(x, dense).min(1).values
        ours = (x - manifold.project(x)).norm(dim=1)
        assert bool((ours <= best + 1e-9).all()), type(manifold).__name__
        assert torch.allclose(ours, manifold.violation(x), atol=1e-9)  # h is a signed distance


def test_projectors_are_symmetric_idempotent_and_normal(mesh):
    for manifold in _analytic() + [mesh]:
        z = _on(manifold, 40, 3)
        p_normal, p_tangent = manifold.normal_projector(z), manifold.tangent_projector(z)
        assert torch.allclose(p_normal @ p_normal, p_normal, atol=1e-12)
        assert torch.allclose(p_normal, p_normal.mT, atol=1e-12)
        assert torch.allclose(p_normal + p_tangent, torch.eye(3, dtype=F64).expand(40, 3, 3), atol=1e-12)
        assert torch.allclose(torch.linalg.matrix_rank(p_normal), torch.ones(40, dtype=torch.long))
        if isinstance(manifold, meshes.MeshSurface):
            continue
        # a tangent direction measured by moving along the manifold, (Pi(z + d v) - Pi(z - d v)) / (2 d) for tangent v:
        # its normal part is O(d^2), 3e-10 here (one-sided, curvature * d |v|^2 / 2 is left: 1e-4 on the torus)
        v = torch.einsum(
            "nij,nj->ni", p_tangent, torch.randn(40, 3, generator=torch.Generator().manual_seed(11), dtype=F64)
        )
        delta = 1e-5
        tangent = (manifold.project(z + delta * v) - manifold.project(z - delta * v)) / (2 * delta)
        assert torch.einsum("nij,nj->ni", p_normal, tangent).norm(dim=1).max() < 1e-6, type(manifold).__name__


def test_mesh_normals_are_orthogonal_to_the_faces(mesh):
    tri = mesh.vertices[mesh.faces]
    for i, j in ((0, 1), (0, 2)):
        assert (((tri[:, j] - tri[:, i]) * mesh.face_normals).sum(1)).abs().max() < 1e-12
    assert bool((((tri.mean(1)) * mesh.face_normals).sum(1) > 0).all())  # outward on a star-shaped surface


def test_normal_projector_of_several_constraints():
    """A curve in R^3 (two constraints with non-orthonormal gradients): P_N has rank 2 and kills the tangent."""
    jac = torch.tensor([[[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]]], dtype=F64)
    p_normal = mf.normal_projector(jac)[0]
    tangent = torch.linalg.cross(jac[0, 0], jac[0, 1])
    assert torch.allclose(p_normal @ tangent, torch.zeros(3, dtype=F64), atol=1e-12)
    assert torch.allclose(p_normal @ jac[0, 0], jac[0, 0]) and torch.allclose(p_normal @ jac[0, 1], jac[0, 1])


@pytest.mark.parametrize("index, sigma", [(0, 1.0), (1, 0.1), (2, 0.05)])
def test_lift_keeps_the_projection_below_the_reach(index, sigma):
    """|n| < reach with overwhelming probability at these sigma (reach: inf, 1.5, 0.4): Pi(z + n) = z."""
    manifold = _analytic()[index]
    z = _on(manifold, 2000, 4)
    x = manifold.lift(z, sigma, generator=torch.Generator().manual_seed(5))
    assert manifold.violation(x).mean() > 0.5 * sigma  # the lift does leave the manifold
    assert torch.allclose(manifold.project(x), z, atol=1e-9)


def test_lift_on_the_mesh_mostly_keeps_the_projection(mesh):
    """A polyhedron has reach 0 at its edges: at small sigma, most (not all) lifted points project back home."""
    z = mesh.sample(1000, generator=torch.Generator().manual_seed(6))
    x = mesh.lift(z, 0.01, generator=torch.Generator().manual_seed(7))
    moved = (mesh.project(x) - z).norm(dim=1)
    assert float((moved < 1e-9).double().mean()) > 0.9
    assert float(moved.max()) < 0.05


def test_lift_covariance_is_sigma2_times_the_normal_projector():
    plane = mf.Plane((0.0, 3.0, 4.0), 1.0)
    z = plane.embed(torch.randn(20000, 2, generator=torch.Generator().manual_seed(8), dtype=F64))
    step = plane.lift(z, 0.5, generator=torch.Generator().manual_seed(9)) - z
    cov = step.T @ step / step.shape[0]
    expected = 0.25 * torch.outer(plane.n, plane.n)
    assert (cov - expected).abs().max() < 5 * 0.25 * math.sqrt(2 / 20000)  # 5 standard errors of a variance


def test_constraint_violation_is_the_distance():
    sphere = mf.Sphere(2.0)
    x = torch.tensor([[0.0, 0.0, 5.0], [0.0, 0.5, 0.0]], dtype=F64)
    assert torch.allclose(mf.constraint_violation(sphere, x), torch.tensor([3.0, 1.5], dtype=F64))
    torus = mf.Torus(2.0, 0.5)
    assert torch.allclose(
        torus.violation(torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0]], dtype=F64)),
        torch.tensor([0.5, 0.5], dtype=F64),
    )


def test_plane_embedding_and_projected_mixture():
    plane = mf.Plane((1.0, 1.0, 1.0), 0.5)
    uv = torch.randn(100, 2, generator=torch.Generator().manual_seed(12), dtype=F64)
    x = plane.embed(uv)
    assert plane.violation(x).max() < 1e-12
    exact = "donot_use_mm_for_euclid_dist"
    assert torch.allclose(torch.cdist(x, x, compute_mode=exact), torch.cdist(uv, uv, compute_mode=exact))  # isometry
    means = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0]], dtype=F64)
    z = mf.sample_projected_mixture(mf.Sphere(), means, 0.3, 500, generator=torch.Generator().manual_seed(0))
    assert z.shape == (500, 3) and (z.norm(dim=1) - 1).abs().max() < 1e-12


def test_every_name_is_reachable_from_the_package():
    """Notebooks call ``manifolds.X``: the split into constraints / normal_bundle / meshes keeps every name there."""
    from coursekit.manifolds import constraints, normal_bundle

    for module in (constraints, normal_bundle, meshes):
        for name in module.__all__:
            assert getattr(mf, name) is getattr(module, name), name
    assert set(mf.__all__) >= {
        "Plane",
        "Sphere",
        "Torus",
        "lift",
        "normal_projector",
        "tangent_projector",
        "constraint_violation",
        "project_to_sphere",
        "sample_projected_mixture",
        "MeshSurface",
        "bumpy_sphere",
        "Manifold",
    }


def test_mesh_signed_distance_and_weighted_sampling(mesh):
    u = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], dtype=F64)
    assert bool((mesh.h(3 * u) > 0).all()) and bool((mesh.h(0.1 * u) < 0).all())
    center = torch.tensor([0.0, 0.0, 1.2], dtype=F64)
    gen = torch.Generator().manual_seed(10)
    near = mesh.sample(2000, center=center, std=0.4, generator=gen)
    uniform = mesh.sample(2000, generator=gen)
    assert near.shape == (2000, 3) and mesh.violation(near).max() < 1e-9
    assert (near - center).norm(dim=1).mean() < 0.6 * (uniform - center).norm(dim=1).mean()
