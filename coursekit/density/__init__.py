"""Densities that evolve (Chapter 2): noised mixtures and point clouds, grids, Fokker-Planck, time reversal.

Modules: ``noised``, ``mixtures``, ``point_cloud``, ``grids``, ``fokker_planck``,
``reverse_time``. The public names of each are re-exported here, so
``from coursekit.density import X`` works for every ``X`` in a module's ``__all__``.
"""

from coursekit.density import fokker_planck, grids, mixtures, noised, point_cloud, reverse_time
from coursekit.density.fokker_planck import (
    FokkerPlanckSolution as FokkerPlanckSolution,
    bernoulli as bernoulli,
    face_flux as face_flux,
    fokker_planck_step as fokker_planck_step,
    solve_fokker_planck as solve_fokker_planck,
    stable_time_step as stable_time_step,
)
from coursekit.density.grids import (
    Grid as Grid,
    histogram_density as histogram_density,
    kde_density as kde_density,
    l1_distance as l1_distance,
)
from coursekit.density.mixtures import (
    GaussianMixture as GaussianMixture,
    noised_log_prob as noised_log_prob,
    noised_score as noised_score,
)
from coursekit.density.noised import (
    MixturePosterior as MixturePosterior,
    mixture_posterior as mixture_posterior,
)
from coursekit.density.point_cloud import (
    noised_point_cloud_score as noised_point_cloud_score,
    point_cloud_log_prob as point_cloud_log_prob,
    point_cloud_posterior as point_cloud_posterior,
    point_cloud_score as point_cloud_score,
)
from coursekit.density.reverse_time import (
    ReverseSDE as ReverseSDE,
    probability_flow_drift as probability_flow_drift,
    probability_flow_velocity as probability_flow_velocity,
    reverse_sde_drift as reverse_sde_drift,
)

__all__ = [
    "FokkerPlanckSolution",
    "GaussianMixture",
    "Grid",
    "MixturePosterior",
    "ReverseSDE",
    "bernoulli",
    "face_flux",
    "fokker_planck",
    "fokker_planck_step",
    "grids",
    "histogram_density",
    "kde_density",
    "l1_distance",
    "mixture_posterior",
    "mixtures",
    "noised",
    "noised_log_prob",
    "noised_point_cloud_score",
    "noised_score",
    "point_cloud",
    "point_cloud_log_prob",
    "point_cloud_posterior",
    "point_cloud_score",
    "probability_flow_drift",
    "probability_flow_velocity",
    "reverse_sde_drift",
    "reverse_time",
    "solve_fokker_planck",
    "stable_time_step",
]
