"""Manifold-aware noising (Chapter 8): constraint manifolds, meshes, the lift and the projection.

Modules: ``constraints`` (the manifolds and their projections), ``normal_bundle`` (the normal
projector, the lift, projected data), ``meshes`` (a triangle-mesh surface). The public names of
each are re-exported here, so ``from coursekit.manifolds import X`` works for every ``X`` in a
module's ``__all__``.
"""

from coursekit.manifolds import constraints, meshes, normal_bundle
from coursekit.manifolds.constraints import (
    Manifold as Manifold,
    Plane as Plane,
    Sphere as Sphere,
    Torus as Torus,
    constraint_violation as constraint_violation,
    project_to_sphere as project_to_sphere,
)
from coursekit.manifolds.meshes import (
    MeshSurface as MeshSurface,
    bumpy_sphere as bumpy_sphere,
)
from coursekit.manifolds.normal_bundle import (
    lift as lift,
    normal_projector as normal_projector,
    sample_projected_mixture as sample_projected_mixture,
    tangent_projector as tangent_projector,
)

__all__ = [
    "Manifold",
    "MeshSurface",
    "Plane",
    "Sphere",
    "Torus",
    "bumpy_sphere",
    "constraint_violation",
    "constraints",
    "lift",
    "meshes",
    "normal_bundle",
    "normal_projector",
    "project_to_sphere",
    "sample_projected_mixture",
    "tangent_projector",
]
