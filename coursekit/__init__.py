"""coursekit: the library of the course *Generative modeling with differential equations*.

Import modules, not names::

    import coursekit as ck
    from coursekit import sde, sde_solvers, schedules, datasets, plotting

The most used names are re-exported here.
"""

from coursekit import (
    brownian as brownian,
    datasets as datasets,
    densities as densities,
    langevin as langevin,
    networks as networks,
    ode as ode,
    rng as rng,
    schedules as schedules,
    sde as sde,
    sde_solvers as sde_solvers,
    training as training,
)
from coursekit.exercises import check as check
from coursekit.notebook import default_device as default_device, on_gpu as on_gpu, setup_notebook as setup_notebook
from coursekit.rng import seed_everything as seed_everything

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "brownian",
    "check",
    "datasets",
    "default_device",
    "densities",
    "langevin",
    "networks",
    "ode",
    "on_gpu",
    "rng",
    "schedules",
    "sde",
    "sde_solvers",
    "seed_everything",
    "setup_notebook",
    "training",
]
