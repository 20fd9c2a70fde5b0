"""The triangle-mesh surface (Chapter 8): exact closest points, the sign at edges and vertices, sampling.

The sign of the signed distance is checked on meshes with sharp edges and vertices (a star-shaped
prism, a box with a narrow pit), against an inside test that uses no closest point at all (the
winding number), on points whose closest feature is an edge or a vertex, inside and outside. For
each such group the test first shows that the normal of a closest face alone gets some sign wrong.
"""

import math

import numpy as np
import pytest
import torch
import trimesh
from trimesh.triangles import closest_point, points_to_barycentric

from coursekit.manifolds import meshes

F64 = torch.float64


def _oriented(vertices, faces, inside_point):
    """Orient every face counter-clockwise seen from outside, for a mesh star-shaped around ``inside_point``."""
    v, f = np.asarray(vertices, dtype=float), np.asarray(faces)
    tri = v[f] - np.asarray(inside_point)
    flip = np.linalg.det(tri) < 0
    f[flip] = f[flip][:, [0, 2, 1]]
    return meshes.MeshSurface(torch.tensor(v), torch.tensor(f))


def _star_prism(tips=8, outer=1.0, inner=0.4, height=0.6):
    """A prism over a star: tips of 27 degrees (sharp convex edges), notches of 72 degrees (sharp reflex edges)."""
    angle = np.arange(2 * tips) * math.pi / tips
    radius = np.where(np.arange(2 * tips) % 2 == 0, outer, inner)
    ring = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    k = 2 * tips
    vertices = np.r_[np.c_[ring, np.zeros(k)], np.c_[ring, np.full(k, height)], [[0, 0, 0], [0, 0, height]]]
    faces = []
    for j in range(k):
        n = (j + 1) % k
        faces += [[2 * k, j, n], [2 * k + 1, k + j, k + n], [j, n, k + n], [j, k + n, k + j]]
    return _oriented(vertices, faces, (0, 0, height / 2))


def _pitted_box(rim=0.15, depth=1.5):
    """The box [-1, 1]^3 with a narrow pyramidal pit from the top face down to an apex (a sharp concave vertex)."""
    corners = [[x, y, z] for z in (-1, 1) for x, y in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    rim_square = [[x, y, 1] for x, y in ((-rim, -rim), (rim, -rim), (rim, rim), (-rim, rim))]
    vertices = corners + rim_square + [[0, 0, 1 - depth]]
    faces = [[0, 1, 2], [0, 2, 3]]  # bottom
    for j in range(4):
        n = (j + 1) % 4
        faces += [[j, n, 4 + n], [j, 4 + n, 4 + j]]  # sides
        faces += [[4 + j, 4 + n, 8 + n], [4 + j, 8 + n, 8 + j]]  # top ring
        faces += [[8 + j, 8 + n, 12]]  # pit wall
    return _oriented(vertices, faces, (0, 0, -0.9))


def _winding_number(mesh, x):
    """Generalised winding number (sum of solid angles, Van Oosterom & Strackee 1983 / 4 pi): 1 inside, 0 outside."""
    tri = mesh.vertices.numpy()[mesh.faces.numpy()][None] - x[:, None, None]  # (N, F, 3, 3)
    a, b, c = tri[:, :, 0], tri[:, :, 1], tri[:, :, 2]
    la, lb, lc = (np.linalg.norm(v, axis=2) for v in (a, b, c))
    numerator = np.einsum("nfi,nfi->nf", a, np.cross(b, c))
    denominator = la * lb * lc + (a * b).sum(2) * lc + (b * c).sum(2) * la + (c * a).sum(2) * lb
    return 2 * np.arctan2(numerator, denominator).sum(1) / (4 * math.pi)


def _brute_force(mesh, x):
    """Distance to every face (trimesh's point-triangle query, no pruning): ``(N, F)``."""
    tri = mesh.vertices.numpy()[mesh.faces.numpy()]
    n, f = x.shape[0], tri.shape[0]
    near = closest_point(np.repeat(tri[None], n, 0).reshape(-1, 3, 3), np.repeat(x, f, 0))
    return np.linalg.norm(near - np.repeat(x, f, 0), axis=1).reshape(n, f), near.reshape(n, f, 3)


def _near_features(mesh, seed, scale=0.03):
    """Points a small step from every vertex and edge along random mixtures of the incident face normals, both ways."""
    gen = np.random.default_rng(seed)
    v, f, normals = mesh.vertices.numpy(), mesh.faces.numpy(), mesh.face_normals.numpy()
    points = []
    for vertex in range(v.shape[0]):
        incident = np.flatnonzero((f == vertex).any(1))
        for _ in range(50):
            direction = gen.random(incident.size) @ normals[incident]
            points.append(v[vertex] + gen.choice([-1, 1]) * scale * gen.random() * direction)
    for face in range(f.shape[0]):
        for k in range(3):
            a, b = f[face, k], f[face, (k + 1) % 3]
            other = [g for g in np.flatnonzero((f == a).any(1) & (f == b).any(1)) if g != face][0]
            for _ in range(3):
                direction = gen.random() * normals[face] + gen.random() * normals[other]
                t = gen.uniform(0.1, 0.9)
                points.append((1 - t) * v[a] + t * v[b] + gen.choice([-1, 1]) * scale * gen.random() * direction)
    return np.array(points)


def test_cube_matches_the_box_formula():
    """Closest point, signed distance and its gradient on [-1, 1]^3, checked against the closed form of a box."""
    box = trimesh.creation.box(extents=(2.0, 2.0, 2.0))
    mesh = meshes.MeshSurface(torch.tensor(box.vertices), torch.tensor(box.faces))
    gen = torch.Generator().manual_seed(0)
    corner_region = 1 + 0.5 * torch.rand(200, 3, generator=gen, dtype=F64)  # closest feature: the vertex (1, 1, 1)
    edge_region = torch.cat(
        [1 + 0.5 * torch.rand(200, 2, generator=gen, dtype=F64), 2 * torch.rand(200, 1, generator=gen, dtype=F64) - 1],
        1,
    )  # the edge x = y = 1
    x = torch.cat([3 * torch.rand(2000, 3, generator=gen, dtype=F64) - 1.5, corner_region, edge_region])
    q = x.abs() - 1
    outside = q.clamp_min(0).norm(dim=1)
    expected = torch.where(outside > 0, outside, q.amax(1))  # the signed distance of a box
    torch.testing.assert_close(mesh.h(x)[:, 0], expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(mesh.project(x), x - expected[:, None] * mesh.jacobian(x)[:, 0], rtol=0, atol=1e-12)
    gradient = torch.where(
        (outside > 0)[:, None],
        (x - x.clamp(-1, 1)) / outside[:, None],
        torch.nn.functional.one_hot(q.argmax(1), 3).to(F64) * x.sign(),
    )
    torch.testing.assert_close(mesh.jacobian(x)[:, 0], gradient, rtol=0, atol=1e-12)


HARD_CASES = {  # the features of each mesh sharp enough for a face normal to get the sign wrong
    "star prism": (_star_prism, [("edge", "inside"), ("edge", "outside"), ("vertex", "outside")]),
    "pitted box": (_pitted_box, [("vertex", "inside")]),
}


@pytest.mark.parametrize("name", list(HARD_CASES))
def test_sign_is_right_where_the_closest_feature_is_an_edge_or_a_vertex(name):
    build, groups = HARD_CASES[name]
    mesh = build()
    x = _near_features(mesh, seed=1)
    winding = _winding_number(mesh, x)
    inside = winding > 0.5
    assert bool((np.abs(winding - inside) < 1e-6).all())  # a closed mesh: 0 or 1
    distances, near = _brute_force(mesh, x)
    best = distances.min(1)
    h = mesh.h(torch.tensor(x))[:, 0].numpy()
    np.testing.assert_allclose(np.abs(h), best, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(h < 0, inside)  # the sign, for every point
    # the groups: closest feature a vertex or an edge (two or one zero barycentric coordinates), inside or outside
    face = distances.argmin(1)
    rows = np.arange(x.shape[0])
    triangles = mesh.vertices.numpy()[mesh.faces.numpy()]
    zeros = (points_to_barycentric(triangles[face], near[rows, face]) < 1e-9).sum(1)
    tie = distances <= best[:, None] + 1e-12  # every face at the closest distance
    normal_sign = np.sign((x - near[rows, face]) @ mesh.face_normals.numpy().T)
    wrong = tie & (normal_sign != np.where(inside, -1, 1)[:, None])
    for feature, side in groups:
        group = (zeros == {"vertex": 2, "edge": 1}[feature]) & (inside == (side == "inside")) & (best > 1e-6)
        assert group.sum() >= 5, f"{feature}, {side}: too few points"
        assert wrong[group].any(1).sum() >= 3, f"{feature}, {side}: the face normals never fail, the test is too easy"


def test_pseudo_normals_are_unit_and_outward():
    mesh = _star_prism()
    assert torch.allclose(mesh.vertex_normals.norm(dim=1), torch.ones(mesh.vertices.shape[0], dtype=F64))
    assert torch.allclose(mesh.edge_normals.norm(dim=2), torch.ones(mesh.faces.shape[0], 3, dtype=F64))
    tip = 0  # the star's first tip, at (1, 0, 0): its vertical edge's pseudo-normal points along +x
    face = int(torch.nonzero((mesh.faces == tip).any(1) & (mesh.faces == 16).any(1))[0])  # 16: the tip at the top
    k = [k for k in range(3) if {int(mesh.faces[face, k]), int(mesh.faces[face, (k + 1) % 3])} == {0, 16}][0]
    torch.testing.assert_close(mesh.edge_normals[face, k], torch.tensor([1.0, 0.0, 0.0], dtype=F64))


def test_queries_follow_the_input_dtype_and_h_is_differentiable():
    mesh = meshes.bumpy_sphere(subdivisions=1)
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(2), dtype=F64)
    for dtype in (torch.float32, F64):
        y = x.to(dtype)
        assert mesh.h(y).dtype == mesh.project(y).dtype == mesh.jacobian(y).dtype == mesh.closest(y)[0].dtype == dtype
        assert mesh.h(y).device == mesh.project(y).device == y.device and mesh.closest(y)[1].dtype == torch.long
    torch.testing.assert_close(mesh.project(x.float()), mesh.project(x).float())
    y = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(mesh.h(y).sum(), y)
    torch.testing.assert_close(grad, mesh.jacobian(x)[:, 0])


def test_open_or_inverted_meshes_are_refused():
    box = trimesh.creation.box()
    vertices, faces = torch.tensor(box.vertices), torch.tensor(box.faces)
    with pytest.raises(ValueError, match="not closed"):
        meshes.MeshSurface(vertices, faces[1:])
    with pytest.raises(ValueError, match=r"clockwise.*faces\[:, \[0, 2, 1\]\]"):
        meshes.MeshSurface(vertices, faces[:, [0, 2, 1]])
    with pytest.raises(ValueError, match="not oriented consistently"):
        meshes.MeshSurface(vertices, torch.cat([faces[:1, [0, 2, 1]], faces[1:]]))
    with pytest.raises(ValueError, match="shape"):
        meshes.MeshSurface(vertices, faces[:, :2])


def test_sampling_that_cannot_succeed_says_what_to_change():
    mesh = meshes.bumpy_sphere(subdivisions=1)
    far = torch.tensor([0.0, 0.0, 30.0])
    with pytest.raises(ValueError, match=r"acceptance rate.*increase std, move center closer.*max_proposals"):
        mesh.sample(100, center=far, std=0.5, generator=torch.Generator().manual_seed(3))
    with pytest.raises(ValueError, match="max_proposals = 500"):
        mesh.sample(
            1000,
            center=torch.tensor([0.0, 0.0, 1.0]),
            std=0.3,
            max_proposals=500,
            generator=torch.Generator().manual_seed(3),
        )
    with pytest.raises(ValueError, match="std is needed with center"):
        mesh.sample(10, center=far)
    with pytest.raises(ValueError, match=r"center must have shape \(3,\)"):
        mesh.sample(10, center=torch.zeros(1, 3), std=1.0)
    near = mesh.sample(50, center=torch.tensor([0.0, 0.0, 1.0]), std=0.3, generator=torch.Generator().manual_seed(3))
    assert near.shape == (50, 3) and mesh.violation(near).max() < 1e-9


def test_sampling_draws_on_the_generator_device_and_returns_on_the_requested_one(monkeypatch):
    mesh = meshes.bumpy_sphere(subdivisions=1)
    same = [
        mesh.sample(
            30, center=torch.tensor([0.0, 0.0, 1.0]), std=0.5, generator=torch.Generator().manual_seed(4), device=device
        )
        for device in (None, "cpu")
    ]
    assert torch.equal(same[0], same[1]) and same[0].device.type == "cpu" and same[0].dtype == F64
    seen = []
    for name in ("rand", "multinomial"):
        original = getattr(torch, name)

        def spy(*args, _original=original, **kwargs):
            out = _original(*args, **kwargs)
            seen.append(out.device)
            return out

        monkeypatch.setattr(torch, name, spy)
    out = mesh.sample(
        30, center=torch.tensor([0.0, 0.0, 1.0]), std=0.5, generator=torch.Generator().manual_seed(4), device="meta"
    )
    assert out.device.type == "meta" and out.shape == (30, 3)
    assert seen and all(d.type == "cpu" for d in seen)  # every draw on the (CPU) generator's device
