r"""A curved triangle-mesh surface as a constraint manifold: generation, closest points, sampling (Chapter 8).

The surface is generated in code (no download): an icosphere from ``trimesh.creation`` whose
vertices are pushed radially by a smooth bump function, a closed "blob" with curvature that
varies from place to place, the stand-in for the scanned meshes of Keegan & Ruthotto (2026).

* The projection $\Pi(x)$ is the exact closest point of the triangles, found by trimesh's
  point-triangle query (``trimesh.triangles.closest_point``, the kernel of
  ``trimesh.proximity.closest_point``) on the few faces left by an exact distance bound. (The
  ``trimesh.proximity`` queries themselves need the optional ``rtree`` package.)
* $h$ is the signed distance, outside positive. Its sign is that of $(x - \Pi(x))^\top n$, with $n$
  the angle-weighted pseudo-normal of the feature $\Pi(x)$ lies on (Bærentzen & Aanæs 2005): the
  face normal inside a face, the sum of the two face normals on an edge, the sum of the incident face
  normals weighted by their angles at a vertex. The normal of the closest face alone gives the
  wrong sign near sharp edges and vertices.
* $\nabla h$ is the unit vector $\pm(x - \Pi(x))/|h|$: the face normal when $\Pi(x)$ lies inside
  a face; at points of an edge or a vertex (where it does not exist) the pseudo-normal.

trimesh works in NumPy float64 on the CPU: every query converts its input there and returns
tensors on the input's device and in its dtype. A polyhedral surface has reach 0 at its edges, so
the lift/projection round trip is exact only for lifted points that stay in the prism over their
own face.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive, check_positive_int
from coursekit.manifolds.constraints import Manifold

__all__ = ["MeshSurface", "bumpy_sphere"]

_FEATURE_TOL = 1e-9  # a barycentric coordinate below this puts the closest point on an edge or a vertex


def _unit(v: Tensor) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True)


class MeshSurface(Manifold):
    r"""A closed triangle mesh as the manifold $\{h = 0\}$, $h$ = signed distance (outside positive), Chapter 8.

    The mesh is kept on the CPU in float64 (where trimesh computes); see the module docstring for
    $\Pi$, the sign of $h$ and $\nabla h$.

    Args:
        vertices: Vertex positions, shape ``(V, 3)``.
        faces: Vertex indices of each triangle, ``long`` of shape ``(F, 3)``, counter-clockwise seen
            from outside (outward normals). The surface must be closed: every edge is shared by
            exactly two faces, which run through it in opposite directions.

    Attributes:
        face_normals: Outward unit normals, ``(F, 3)``; ``face_areas``: areas, ``(F,)``.
        edge_normals: Pseudo-normal of edge $k$ (corners $k$, $k+1$) of each face, the normalised sum of
            the normals of its two faces, ``(F, 3, 3)``.
        vertex_normals: Pseudo-normal of each vertex, $\sum_f \alpha_f n_f$ normalised ($\alpha_f$ the
            angle of face $f$ at the vertex), ``(V, 3)``.

    Raises:
        ValueError: If the faces have the wrong shape, index missing vertices, have zero area, leave
            the surface open, or are not oriented consistently outwards.
    """

    reach = 0.0  # edges and corners: see the module docstring

    def __init__(self, vertices: Tensor, faces: Tensor) -> None:
        self.vertices = torch.as_tensor(vertices).detach().to("cpu", torch.float64)
        self.faces = torch.as_tensor(faces).detach().to("cpu", torch.long)
        check_points(self.vertices, "vertices", dim=3)
        if self.faces.ndim != 2 or self.faces.shape[1] != 3:
            raise ValueError(f"faces must have shape (F, 3), got {tuple(self.faces.shape)}")
        if self.faces.numel() == 0 or self.faces.min() < 0 or self.faces.max() >= self.vertices.shape[0]:
            raise ValueError(f"faces must index the {self.vertices.shape[0]} vertices (0 to V - 1)")
        tri = self.vertices[self.faces]  # (F, 3, 3)
        cross = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        self.face_areas = 0.5 * cross.norm(dim=1)  # (F,)
        if not bool((self.face_areas > 0).all()):
            raise ValueError(f"{int((self.face_areas <= 0).sum())} faces have zero area: remove them")
        self.face_normals = cross / cross.norm(dim=1, keepdim=True)  # (F, 3), outward
        self._check_closed_and_outward(tri)
        self.edge_normals, self.vertex_normals = self._pseudo_normals(tri)
        self._tri = tri.numpy()  # (F, 3, 3), what trimesh queries
        self._centroids = self._tri.mean(1)
        self._radii = np.linalg.norm(self._tri - self._centroids[:, None], axis=2).max(1)  # (F,)
        self._tol = 1e-9 * float((self.vertices.amax(0) - self.vertices.amin(0)).norm())  # "on the surface"

    def _check_closed_and_outward(self, tri: Tensor) -> None:
        directed = self.faces[:, [[0, 1], [1, 2], [2, 0]]].reshape(-1, 2)  # (3F, 2), edge k joins corners k, k+1
        _, counts = torch.unique(directed.sort(dim=1).values, dim=0, return_counts=True)
        if bool((counts != 2).any()):
            raise ValueError(
                f"the mesh is not closed: {int((counts != 2).sum())} edges belong to one face or to more "
                "than two (a signed distance needs an inside): close the holes"
            )
        if torch.unique(directed, dim=0).shape[0] != directed.shape[0]:
            raise ValueError(
                "the faces are not oriented consistently: two faces run through an edge in the same "
                "direction; make all faces counter-clockwise seen from outside"
            )
        volume = float(torch.linalg.det(tri).sum()) / 6
        if volume <= 0:
            raise ValueError(
                f"the faces are clockwise seen from outside (enclosed volume {volume:.3g} <= 0): "
                "reverse them, faces[:, [0, 2, 1]]"
            )

    def _pseudo_normals(self, tri: Tensor) -> tuple[Tensor, Tensor]:
        r"""Unit pseudo-normals of the edges ``(F, 3, 3)`` (edge $k$: corners $k$, $k+1$) and vertices ``(V, 3)``."""
        u, v = tri.roll(-1, dims=1) - tri, tri.roll(1, dims=1) - tri  # (F, 3 corners, 3): the two edges at a corner
        angles = torch.atan2(torch.linalg.cross(u, v).norm(dim=2), (u * v).sum(2))  # (F, 3)
        weighted = (angles[..., None] * self.face_normals[:, None]).reshape(-1, 3)
        vertex = torch.zeros_like(self.vertices).index_add_(0, self.faces.reshape(-1), weighted)
        edges = self.faces[:, [[0, 1], [1, 2], [2, 0]]].reshape(-1, 2).sort(dim=1).values
        _, inverse = torch.unique(edges, dim=0, return_inverse=True)
        summed = torch.zeros(int(inverse.max()) + 1, 3, dtype=torch.float64)
        summed.index_add_(0, inverse, self.face_normals.repeat_interleave(3, dim=0))
        return _unit(summed[inverse].reshape(-1, 3, 3)), _unit(vertex)

    def _nearest(self, x: Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        r"""Closest points ``(N, 3)``, their faces ``(N,)``, the pseudo-normals ``(N, 3)``, "inside a face" ``(N,)``.

        NumPy float64 on the CPU. Exact, with pruning: a face's centroid $c_f$ lies on it, so
        $\min_f\|x - c_f\|$ bounds the distance from above and $\|x - c_f\| - r_f$ ($r_f$ the largest
        centroid-vertex distance) bounds the distance to face $f$ from below; trimesh's point-triangle
        query runs only on faces whose lower bound is below the upper bound.
        """
        from scipy.spatial.distance import cdist
        from trimesh.triangles import closest_point, points_to_barycentric

        p = check_points(x, dim=3).detach().to("cpu", torch.float64).numpy()
        block = max(1, 2**20 // self._tri.shape[0])  # at most 2^20 point-face pairs at a time
        points, faces = [], []
        for start in range(0, p.shape[0], block):
            q = p[start : start + block]
            to_centroid = cdist(q, self._centroids)  # (n, F)
            upper = to_centroid.min(1, keepdims=True)
            rows, cols = np.nonzero(to_centroid - self._radii <= upper * (1 + 1e-12) + 1e-12)
            near = closest_point(self._tri[cols], q[rows])
            order = np.lexsort((((near - q[rows]) ** 2).sum(1), rows))  # by point, then by distance
            best = order[np.r_[0, np.flatnonzero(np.diff(rows[order])) + 1]]  # the nearest face of each point
            points.append(near[best])
            faces.append(cols[best])
        nearest, face = np.concatenate(points), np.concatenate(faces)
        bary = points_to_barycentric(self._tri[face], nearest)
        small = bary < _FEATURE_TOL  # the corners whose coordinate vanishes
        on_edge, on_vertex = small.sum(1) == 1, small.sum(1) == 2
        normal = self.face_normals.numpy()[face]
        edge = (np.argmax(small, axis=1) + 1) % 3  # the edge opposite the vanishing corner
        normal[on_edge] = self.edge_normals.numpy()[face[on_edge], edge[on_edge]]
        corner = np.argmax(bary, axis=1)
        normal[on_vertex] = self.vertex_normals.numpy()[self.faces.numpy()[face[on_vertex], corner[on_vertex]]]
        return nearest, face, normal, ~(on_edge | on_vertex)

    def closest(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Closest points on the surface and the index of their face.

        Args:
            x: Points, shape ``(N, 3)``, any device and floating dtype.

        Returns:
            Closest points ``(N, 3)`` in ``x``'s dtype and faces ``long`` ``(N,)``, on ``x``'s device.
        """
        nearest, face, _, _ = self._nearest(x)
        return torch.from_numpy(nearest).to(x), torch.from_numpy(face).to(x.device)

    def h(self, x: Tensor) -> Tensor:
        r"""Signed distance, shape ``(N, 1)``, for ``x`` ``(N, 3)``; differentiable in ``x`` ($\nabla h$ as below)."""
        nearest, _, normal, _ = self._nearest(x)
        p = x.detach().to("cpu", torch.float64).numpy()
        sign = torch.from_numpy(np.sign(((p - nearest) * normal).sum(1))).to(x)  # in float64, then converted
        return (sign * (x - torch.from_numpy(nearest).to(x)).norm(dim=1))[:, None]

    def jacobian(self, x: Tensor) -> Tensor:
        r"""$\nabla h$ as a Jacobian ``(N, 1, 3)``: face normal, $\pm(x - \Pi(x))/|h|$ or pseudo-normal (module doc)."""
        nearest, _, normal, in_face = self._nearest(x)
        offset = x.detach().to("cpu", torch.float64).numpy() - nearest
        dist = np.linalg.norm(offset, axis=1)
        use_offset = ~in_face & (dist > self._tol)
        sign = np.sign((offset * normal).sum(1))
        normal[use_offset] = (sign[:, None] * offset / np.maximum(dist, self._tol)[:, None])[use_offset]
        return torch.from_numpy(normal).to(x)[:, None, :]

    def project(self, x: Tensor) -> Tensor:
        r"""$\Pi(x)$, shape ``(N, 3)``, in ``x``'s device and dtype."""
        return self.closest(x)[0]

    def sample(
        self,
        n: int,
        *,
        center: Tensor | None = None,
        std: float | None = None,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        max_proposals: int | None = None,
    ) -> Tensor:
        r"""Points on the surface, density $\propto e^{-\|x - \mu\|^2 / (2 s^2)}$ in area (uniform if no ``center``).

        A face is chosen with probability proportional to its area, a uniform point in it by
        $u, v \sim U(0, 1)$ folded into the triangle, and kept with probability
        $e^{-\|x - \mu\|^2/(2s^2)}$ (rejection), in rounds of $4 \times$ the missing points $+ 64$
        proposals, until ``n`` points are kept. The draws are made on the generator's device (a CPU
        generator drives any device), the result moved to ``device``.

        Args:
            n: Number of points.
            center: $\mu$, shape ``(3,)``.
            std: $s > 0$ (needed with ``center``).
            generator: Source of randomness (``None``: torch's default CPU generator).
            device: Device of the result (default: the CPU).
            max_proposals: Give up after this many proposals (default ``1000 n + 100000``, enough
                down to an acceptance rate of about $10^{-3}$).

        Returns:
            Points on the surface, float64 of shape ``(n, 3)``.

        Raises:
            ValueError: If the rejection step cannot keep ``n`` points within ``max_proposals``
                (``center`` far from the surface for its ``std``); the message says what to change.
        """
        check_positive_int(n, "n")
        limit = 1000 * n + 100_000 if max_proposals is None else check_positive_int(max_proposals, "max_proposals")
        draw = generator.device if generator is not None else torch.device("cpu")
        areas, vertices, faces = self.face_areas.to(draw), self.vertices.to(draw), self.faces.to(draw)
        mu, scale = None, 1.0
        if center is not None:
            if std is None:
                raise ValueError("std is needed with center: the weight is exp(-|x - center|^2 / (2 std^2))")
            mu, scale = torch.as_tensor(center).to(draw, torch.float64), check_positive(std, "std")
            if mu.shape != (3,):
                raise ValueError(f"center must have shape (3,), got {tuple(mu.shape)}")
        kept: list[Tensor] = []
        count = drawn = 0
        while count < n:
            if drawn >= limit and mu is not None:  # without center every proposal is kept
                gap = float(self.violation(mu.cpu()[None]))
                raise ValueError(
                    f"MeshSurface.sample: the rejection step kept {count} of {drawn} proposals (acceptance rate "
                    f"{count / drawn:.1e}), short of n = {n} within max_proposals = {limit}. The weight "
                    f"exp(-|x - center|^2 / (2 std^2)) is tiny on the surface, which is {gap:.3g} from center at "
                    f"std = {scale:g}: increase std, move center closer to the surface, or raise max_proposals."
                )
            m = 4 * (n - count) + 64
            face = torch.multinomial(areas, m, replacement=True, generator=generator)
            uv = torch.rand(m, 2, generator=generator, dtype=torch.float64, device=draw)
            fold = uv.sum(1) > 1
            uv[fold] = 1 - uv[fold]
            tri = vertices[faces[face]]  # (m, 3, 3)
            x = tri[:, 0] + uv[:, :1] * (tri[:, 1] - tri[:, 0]) + uv[:, 1:] * (tri[:, 2] - tri[:, 0])
            if mu is not None:
                accept = torch.rand(m, generator=generator, dtype=torch.float64, device=draw)
                x = x[accept < torch.exp(-((x - mu) ** 2).sum(1) / (2 * scale**2))]
            kept.append(x)
            count += x.shape[0]
            drawn += m
        return torch.cat(kept)[:n].to(device if device is not None else "cpu")


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
