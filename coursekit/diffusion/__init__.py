"""Score-based diffusion (Chapter 6): denoising score matching, parameterizations, samplers.

Modules: ``parameterizations``, ``dsm``, ``samplers``, ``annealed_langevin``, ``likelihood``.
The public names of each are re-exported here, so
``from coursekit.diffusion import X`` works for every ``X`` in a module's ``__all__``.
"""

from coursekit.diffusion import annealed_langevin, dsm, likelihood, parameterizations, samplers
from coursekit.diffusion.annealed_langevin import (
    annealed_langevin_sample as annealed_langevin_sample,
    noise_levels as noise_levels,
    predictor_corrector_sample as predictor_corrector_sample,
)
from coursekit.diffusion.dsm import (
    dsm_loss as dsm_loss,
    noised_mixture_log_prob as noised_mixture_log_prob,
    noised_mixture_score as noised_mixture_score,
    score_from_model as score_from_model,
)
from coursekit.diffusion.likelihood import (
    log_likelihood as log_likelihood,
)
from coursekit.diffusion.parameterizations import (
    data_from_noise as data_from_noise,
    denoiser_from_score as denoiser_from_score,
    noise_from_data as noise_from_data,
    noise_from_score as noise_from_score,
    score_from_denoiser as score_from_denoiser,
    score_from_noise as score_from_noise,
    score_from_velocity as score_from_velocity,
    velocity_from_score as velocity_from_score,
)
from coursekit.diffusion.samplers import (
    SamplerOutput as SamplerOutput,
    family_drift as family_drift,
    family_sample as family_sample,
    probability_flow_sample as probability_flow_sample,
    reverse_sde_sample as reverse_sde_sample,
    reverse_sde_step as reverse_sde_step,
    sample_prior as sample_prior,
)

__all__ = [
    "SamplerOutput",
    "annealed_langevin",
    "annealed_langevin_sample",
    "data_from_noise",
    "denoiser_from_score",
    "dsm",
    "dsm_loss",
    "family_drift",
    "family_sample",
    "likelihood",
    "log_likelihood",
    "noise_from_data",
    "noise_from_score",
    "noise_levels",
    "noised_mixture_log_prob",
    "noised_mixture_score",
    "parameterizations",
    "predictor_corrector_sample",
    "probability_flow_sample",
    "reverse_sde_sample",
    "reverse_sde_step",
    "sample_prior",
    "samplers",
    "score_from_denoiser",
    "score_from_model",
    "score_from_noise",
    "score_from_velocity",
    "velocity_from_score",
]
