"""Flows (Chapters 3-5): the ODE adapter, divergences, likelihood along an ODE, CNF, OT-Flow, flow matching.

Modules: ``ode``, ``divergence``, ``likelihood``, ``cnf``, ``ot_flow``, ``gaussian_ot``, ``couplings``,
``marginal_velocity``, ``flow_matching``, ``path_metrics``. The public names of each are re-exported here, so
``from coursekit.flows import X`` works for every ``X`` in a module's ``__all__`` except where two modules
use one name (then import it from its module).
"""

from coursekit.flows import (
    cnf,
    couplings,
    divergence,
    flow_matching,
    gaussian_ot,
    likelihood,
    marginal_velocity,
    ode,
    ot_flow,
    path_metrics,
)
from coursekit.flows.cnf import (
    CNFLikelihood as CNFLikelihood,
    CNFSamples as CNFSamples,
    augmented_velocity as augmented_velocity,
    nll_loss as nll_loss,
    sample as sample,
    velocity_network as velocity_network,
)
from coursekit.flows.couplings import (
    COUPLINGS as COUPLINGS,
    check_pair as check_pair,
    ot_coupling as ot_coupling,
)
from coursekit.flows.divergence import (
    exact_divergence as exact_divergence,
    hutchinson_divergence as hutchinson_divergence,
    probe_estimate as probe_estimate,
    sample_probes as sample_probes,
    trace_of_jacobian as trace_of_jacobian,
)
from coursekit.flows.flow_matching import (
    FlowSamples as FlowSamples,
    PathSample as PathSample,
    cfm_loss as cfm_loss,
    conditional_velocity as conditional_velocity,
    linear_path as linear_path,
    sample_path as sample_path,
)
from coursekit.flows.gaussian_ot import (
    GaussianOTMap as GaussianOTMap,
    gaussian_w2_squared as gaussian_w2_squared,
    ot_map_matrix as ot_map_matrix,
    sqrtm_psd as sqrtm_psd,
)
from coursekit.flows.likelihood import (
    LikelihoodResult as LikelihoodResult,
    augmented_dynamics as augmented_dynamics,
    gaussian_prior_log_prob as gaussian_prior_log_prob,
    integrate_log_likelihood as integrate_log_likelihood,
    ode_log_likelihood as ode_log_likelihood,
    velocity_and_divergence as velocity_and_divergence,
)
from coursekit.flows.marginal_velocity import (
    ideal_velocity as ideal_velocity,
)
from coursekit.flows.ode import (
    ODESolution as ODESolution,
    euler as euler,
    integrate as integrate,
)
from coursekit.flows.ot_flow import (
    OTFlowObjective as OTFlowObjective,
    OTFlowResult as OTFlowResult,
    Potential as Potential,
    activation as activation,
    integrate_flow as integrate_flow,
    ot_flow_loss as ot_flow_loss,
    ot_flow_objective as ot_flow_objective,
    potential_field as potential_field,
    potential_gradient as potential_gradient,
    potential_laplacian as potential_laplacian,
)
from coursekit.flows.path_metrics import (
    normalized_path_energy as normalized_path_energy,
    path_energy as path_energy,
    straightness as straightness,
)

__all__ = [
    "CNFLikelihood",
    "CNFSamples",
    "COUPLINGS",
    "FlowSamples",
    "GaussianOTMap",
    "LikelihoodResult",
    "ODESolution",
    "OTFlowObjective",
    "OTFlowResult",
    "PathSample",
    "Potential",
    "activation",
    "augmented_dynamics",
    "augmented_velocity",
    "cfm_loss",
    "check_pair",
    "cnf",
    "conditional_velocity",
    "couplings",
    "divergence",
    "euler",
    "exact_divergence",
    "flow_matching",
    "gaussian_ot",
    "gaussian_prior_log_prob",
    "gaussian_w2_squared",
    "hutchinson_divergence",
    "ideal_velocity",
    "integrate",
    "integrate_flow",
    "integrate_log_likelihood",
    "likelihood",
    "linear_path",
    "marginal_velocity",
    "nll_loss",
    "normalized_path_energy",
    "ode",
    "ode_log_likelihood",
    "ot_coupling",
    "ot_flow",
    "ot_flow_loss",
    "ot_flow_objective",
    "ot_map_matrix",
    "path_energy",
    "path_metrics",
    "potential_field",
    "potential_gradient",
    "potential_laplacian",
    "probe_estimate",
    "sample",
    "sample_path",
    "sample_probes",
    "sqrtm_psd",
    "straightness",
    "trace_of_jacobian",
    "velocity_and_divergence",
    "velocity_network",
]
