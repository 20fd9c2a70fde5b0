"""Stochastic processes (Chapter 1): SDEs, schedules, Brownian motion, Euler-Maruyama, Langevin, orders.

Modules: ``schedules``, ``processes``, ``brownian``, ``time_grids``, ``solvers``, ``langevin``, ``convergence``.
The public names of each are re-exported here, so
``from coursekit.sde import X`` works for every ``X`` in a module's ``__all__``.
"""

from coursekit.sde import brownian, convergence, langevin, processes, schedules, solvers, time_grids
from coursekit.sde.brownian import (
    brownian_increments as brownian_increments,
    sample_brownian_motion as sample_brownian_motion,
)
from coursekit.sde.convergence import (
    fitted_order as fitted_order,
    strong_errors as strong_errors,
    weak_errors as weak_errors,
)
from coursekit.sde.langevin import (
    langevin_dynamics as langevin_dynamics,
)
from coursekit.sde.processes import (
    SDE as SDE,
    VESDE as VESDE,
    VPSDE as VPSDE,
    BrownianMotion as BrownianMotion,
    DriftDiffusionSDE as DriftDiffusionSDE,
    GeometricBrownianMotion as GeometricBrownianMotion,
    OrnsteinUhlenbeck as OrnsteinUhlenbeck,
)
from coursekit.sde.schedules import (
    CosineSchedule as CosineSchedule,
    GeometricVESchedule as GeometricVESchedule,
    LinearBetaSchedule as LinearBetaSchedule,
    Schedule as Schedule,
    ScheduleValues as ScheduleValues,
    get_schedule as get_schedule,
    linear_alpha_sigma as linear_alpha_sigma,
)
from coursekit.sde.solvers import (
    euler_maruyama as euler_maruyama,
    euler_maruyama_step as euler_maruyama_step,
    simulate as simulate,
)
from coursekit.sde.time_grids import (
    sampling_grid as sampling_grid,
    uniform_grid as uniform_grid,
)

__all__ = [
    "BrownianMotion",
    "CosineSchedule",
    "DriftDiffusionSDE",
    "GeometricBrownianMotion",
    "GeometricVESchedule",
    "LinearBetaSchedule",
    "OrnsteinUhlenbeck",
    "SDE",
    "Schedule",
    "ScheduleValues",
    "VESDE",
    "VPSDE",
    "brownian",
    "brownian_increments",
    "convergence",
    "euler_maruyama",
    "euler_maruyama_step",
    "fitted_order",
    "get_schedule",
    "langevin",
    "langevin_dynamics",
    "linear_alpha_sigma",
    "processes",
    "sample_brownian_motion",
    "sampling_grid",
    "schedules",
    "simulate",
    "solvers",
    "strong_errors",
    "time_grids",
    "uniform_grid",
    "weak_errors",
]
