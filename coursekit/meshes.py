r"""A curved triangle-mesh surface as a constraint manifold: generation, closest points, sampling (Chapter 8).

The surface is generated in code (no download): an icosphere from ``trimesh.creation`` whose
vertices are pushed radially by a smooth bump function, a closed "blob" with curvature that
varies from place to place, the stand-in for the scanned meshes of Keegan & Ruthotto (2026).
The projection $\Pi$ is the exact closest point on the triangles (Ericson's point-triangle
test, vectorised over all faces in PyTorch), $h$ the signed distance, $\nabla h$ the face normal.
A polyhedral surface has reach 0 at its edges, so the lift/projection round trip is exact only
for lifted points that stay in the prism over their own face.
"""

from __future__ import annotations

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive, check_positive_int
from coursekit.manifolds import Manifold

__all__ = ["MeshSurface", "bumpy_sphere", "closest_points_on_triangles"]

def _dot(a: Tensor, b: Tensor) -> Tensor:
    return (a * b).sum(-1)


def closest_points_on_triangles(p: Tensor, a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    r"""Closest point of each triangle $(a_f, b_f, c_f)$ to each point $p_n$ (Ericson 2004, Sec. 5.1.5).

    The point is found by the Voronoi region of the triangle it falls in: a vertex, an edge, or the
    interior (barycentric coordinates).

    Args:
        p: Points, shape ``(N, 1, 3)`` (or broadcastable against the triangles).
        a: First vertices, shape ``(1, F, 3)``.
        b: Second vertices, shape ``(1, F, 3)``.
        c: Third vertices, shape ``(1, F, 3)``.

    Returns:
        Closest points, shape ``(N, F, 3)``.
    """
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = _dot(ab, ap), _dot(ac, ap)
    bp = p - b
    d3, d4 = _dot(ab, bp), _dot(ac, bp)
    cp = p - c
    d5, d6 = _dot(ab, cp), _dot(ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2

    def safe(num: Tensor, den: Tensor) -> Tensor:
        return num / torch.where(den == 0, torch.ones_like(den), den)

    total = va + vb + vc
    out = a + ab * safe(vb, total)[..., None] + ac * safe(vc, total)[..., None]  # interior
    # the regions, from the last tested to the first, so that earlier tests win
    e43, e56 = d4 - d3, d5 - d6
    cases = [
        ((va <= 0) & (e43 >= 0) & (e56 >= 0), b + (c - b) * safe(e43, e43 + e56)[..., None]),  # edge BC
        ((vb <= 0) & (d2 >= 0) & (d6 <= 0), a + ac * safe(d2, d2 - d6)[..., None]),  # edge AC
        ((d6 >= 0) & (d5 <= d6), c.expand_as(out)),  # vertex C
        ((vc <= 0) & (d1 >= 0) & (d3 <= 0), a + ab * safe(d1, d1 - d3)[..., None]),  # edge AB
        ((d3 >= 0) & (d4 <= d3), b.expand_as(out)),  # vertex B
        ((d1 <= 0) & (d2 <= 0), a.expand_as(out)),  # vertex A
    ]
    for mask, point in cases:
        out = torch.where(mask[..., None], point, out)
    return out


class MeshSurface(Manifold):
    r"""A closed triangle mesh as the manifold $\{h = 0\}$, $h$ = signed distance (outside positive), Chapter 8.

    Args:
        vertices: Vertex positions, shape ``(V, 3)``.
        faces: Vertex indices of each triangle, ``long`` of shape ``(F, 3)``, counter-clockwise seen
            from outside (outward normals).
    """

    reach = 0.0  # edges and corners: see the module docstring

    def __init__(self, vertices: Tensor, faces: Tensor) -> None:
        self.vertices = torch.as_tensor(vertices, dtype=torch.float64)
        self.faces = torch.as_tensor(faces, dtype=torch.long)
        check_points(self.vertices, "vertices", dim=3)
        if self.faces.ndim != 2 or self.faces.shape[1] != 3:
            raise ValueError(f"faces must have shape (F, 3), got {tuple(self.faces.shape)}")
        tri = self.vertices[self.faces]  # (F, 3, 3)
        cross = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        self.face_areas = 0.5 * cross.norm(dim=1)  # (F,)
        self.face_normals = cross / cross.norm(dim=1, keepdim=True)  # (F, 3), outward

    def closest(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r"""Closest points on the surface and the index of their face: ``(N, 3)`` and ``(N,)`` long.

        Exact, with pruning: a face's centroid $c_f$ lies on it, so $\min_f\|x - c_f\|$ bounds the
        distance from above, and $\|x - c_f\| - r_f$ ($r_f$ the largest centroid-vertex distance)
        bounds the distance to face $f$ from below; only faces whose lower bound is below the upper
        bound are tested (a handful for points near the surface).
        """
        check_points(x, dim=3)
        tri = self.vertices.to(x.device)[self.faces.to(x.device)]  # (F, 3, 3), float64
        centroids = tri.mean(1)  # (F, 3)
        radii = (tri - centroids[:, None]).norm(dim=2).amax(1)  # (F,)
        points, faces = [], []
        for start in range(0, x.shape[0], 1024):
            p = x[start:start + 1024].double()  # (n, 3)
            to_centroid = torch.cdist(p, centroids)  # (n, F)
            upper = to_centroid.min(1, keepdim=True).values
            lower = to_centroid - radii
            k = max(1, int((lower <= upper + 1e-12).sum(1).max()))
            candidates = torch.topk(lower, k, dim=1, largest=False).indices  # (n, k) faces
            block = tri[candidates]  # (n, k, 3, 3)
            nearest = closest_points_on_triangles(p[:, None], block[:, :, 0], block[:, :, 1], block[:, :, 2])
            best = ((nearest - p[:, None]) ** 2).sum(-1).argmin(dim=1)  # (n,)
            rows = torch.arange(p.shape[0], device=x.device)
            points.append(nearest[rows, best])
            faces.append(candidates[rows, best])
        return torch.cat(points).to(x.dtype), torch.cat(faces)

    def h(self, x: Tensor) -> Tensor:
        nearest, face = self.closest(x)
        offset = x - nearest
        sign = torch.sign(_dot(offset, self.face_normals.to(x)[face]))
        return (sign * offset.norm(dim=1))[:, None]

    def jacobian(self, x: Tensor) -> Tensor:
        _, face = self.closest(x)
        return self.face_normals.to(x)[face][:, None, :]

    def project(self, x: Tensor) -> Tensor:
        return self.closest(x)[0]

    def sample(
        self, n: int, *, center: Tensor | None = None, std: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        r"""Points on the surface, density $\propto e^{-\|x - \mu\|^2 / (2 s^2)}$ in area (uniform if no ``center``).

        A face is chosen with probability proportional to its area, a uniform point in it by
        $u, v \sim U(0, 1)$ folded into the triangle, and kept with probability
        $e^{-\|x - \mu\|^2/(2s^2)}$ (rejection), until ``n`` points are kept.

        Args:
            n: Number of points.
            center: $\mu$, shape ``(3,)``.
            std: $s > 0$ (needed with ``center``).
            generator: Source of randomness.

        Returns:
            Points on the surface, float64 of shape ``(n, 3)``.
        """
        check_positive_int(n, "n")
        if center is not None:
            check_positive(std, "std")
            center = torch.as_tensor(center, dtype=torch.float64)
        kept: list[Tensor] = []
        count = 0
        while count < n:
            m = 4 * (n - count) + 64
            face = torch.multinomial(self.face_areas, m, replacement=True, generator=generator)
            uv = torch.rand(m, 2, generator=generator, dtype=torch.float64)
            fold = uv.sum(1) > 1
            uv[fold] = 1 - uv[fold]
            tri = self.vertices[self.faces[face]]  # (m, 3, 3)
            x = tri[:, 0] + uv[:, :1] * (tri[:, 1] - tri[:, 0]) + uv[:, 1:] * (tri[:, 2] - tri[:, 0])
            if center is not None:
                accept = torch.rand(m, generator=generator, dtype=torch.float64)
                x = x[accept < torch.exp(-((x - center) ** 2).sum(1) / (2 * std**2))]
            kept.append(x)
            count += x.shape[0]
        return torch.cat(kept)[:n]


def bumpy_sphere(subdivisions: int = 3, amplitude: float = 0.25) -> MeshSurface:
    r"""A closed, curved mesh: an icosphere pushed radially to $r(u) = 1 + a\,b(u)$ with a smooth bump $b$ (Chapter 8).

    $b(u) = \sin(3u_1)\cos(2u_2) + \tfrac12\sin(4u_3)$ on unit vectors $u$. ``subdivisions = 3``
    gives 1280 triangles.

    Args:
        subdivisions: Icosphere subdivision level.
        amplitude: $a$ (keep below about 0.4 so that the surface stays star-shaped and smooth).

    Returns:
        The :class:`MeshSurface`.
    """
    import trimesh

    check_positive_int(subdivisions, "subdivisions")
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0)
    u = torch.as_tensor(sphere.vertices, dtype=torch.float64)
    u = u / u.norm(dim=1, keepdim=True)
    bump = torch.sin(3 * u[:, 0]) * torch.cos(2 * u[:, 1]) + 0.5 * torch.sin(4 * u[:, 2])
    return MeshSurface((1 + amplitude * bump)[:, None] * u, torch.as_tensor(sphere.faces, dtype=torch.long))
