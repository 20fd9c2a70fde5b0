"""Sample-quality metrics: exact W2 with the data floor, KL from exact densities, numbers with their error.

Modules: ``assignment``, ``wasserstein``, ``spread`` (mean +- sd over repeats, an estimate with its
standard error), ``floors`` (the W2 data floor at a sample size), ``divergences`` (paired KL).
The public names of each are re-exported here, so ``from coursekit.metrics import X`` works for
every ``X`` in a module's ``__all__``.
"""

from coursekit.metrics import assignment, divergences, floors, spread, wasserstein
from coursekit.metrics.assignment import (
    optimal_assignment as optimal_assignment,
)
from coursekit.metrics.divergences import (
    KLEstimate as KLEstimate,
    kl_divergence as kl_divergence,
    toy_kl_divergence as toy_kl_divergence,
)
from coursekit.metrics.floors import (
    FLOOR_DRAWS as FLOOR_DRAWS,
    FLOOR_N as FLOOR_N,
    FLOOR_SEED as FLOOR_SEED,
    ModelW2 as ModelW2,
    data_floor as data_floor,
    model_w2 as model_w2,
)
from coursekit.metrics.spread import (
    Estimate as Estimate,
    Spread as Spread,
)
from coursekit.metrics.wasserstein import (
    mean_wasserstein2 as mean_wasserstein2,
    wasserstein2 as wasserstein2,
)

__all__ = [
    "Estimate",
    "FLOOR_DRAWS",
    "FLOOR_N",
    "FLOOR_SEED",
    "KLEstimate",
    "ModelW2",
    "Spread",
    "assignment",
    "data_floor",
    "divergences",
    "floors",
    "kl_divergence",
    "mean_wasserstein2",
    "model_w2",
    "optimal_assignment",
    "spread",
    "toy_kl_divergence",
    "wasserstein",
    "wasserstein2",
]
