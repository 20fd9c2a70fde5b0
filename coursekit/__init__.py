"""coursekit: the library of the course *Generative modeling with differential equations*.

The subpackages read like the table of contents:

============================  ==========================================================
``coursekit.sde``             SDEs, schedules, Brownian motion, Euler-Maruyama, Langevin (Ch. 1)
``coursekit.density``         noised mixtures and point clouds, grids, Fokker-Planck, time reversal (Ch. 2)
``coursekit.flows``           ODE adapter, divergence, likelihood, CNF, OT-Flow, flow matching (Ch. 3-5)
``coursekit.diffusion``       denoising score matching, parameterizations, samplers (Ch. 6)
``coursekit.guidance``        conditional models, classifiers, classifier-free guidance (Ch. 7)
``coursekit.manifolds``       constraint manifolds, meshes, lift and projection (Ch. 8)
``coursekit.data``            2-D toys with exact densities, digits, curves
``coursekit.nn``              networks and the training loop
``coursekit.metrics``         W2 with its floor, optimal assignment
``coursekit.viz``             figures, animations, widgets (imported on demand)
``coursekit.course``          notebook set-up, exercise checks, grading, authoring, CLI, benchmarks
============================  ==========================================================

Import subpackages or modules, not names::

    import coursekit as ck
    from coursekit import sde
    from coursekit.density import grids

The few names every notebook uses (``ck.check``, ``ck.setup_notebook``, ``ck.on_gpu``) live here.
"""

from coursekit import (
    data as data,
    density as density,
    diffusion as diffusion,
    flows as flows,
    guidance as guidance,
    manifolds as manifolds,
    metrics as metrics,
    nn as nn,
    rng as rng,
    sde as sde,
)
from coursekit.course.exercises import check as check
from coursekit.course.notebook import (
    default_device as default_device,
    on_gpu as on_gpu,
    setup_notebook as setup_notebook,
)
from coursekit.rng import seed_everything as seed_everything

__version__ = "0.2.0"

__all__ = [
    "__version__",
    "check",
    "data",
    "default_device",
    "density",
    "diffusion",
    "flows",
    "guidance",
    "manifolds",
    "metrics",
    "nn",
    "on_gpu",
    "rng",
    "sde",
    "seed_everything",
    "setup_notebook",
]
