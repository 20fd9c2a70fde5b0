"""Guidance (Chapter 7): conditional models, noisy classifiers, classifier-free guidance.

Modules: ``conditional``, ``classifier``, ``guided``. The public names of each are re-exported here, so
``from coursekit.guidance import X`` works for every ``X`` in a module's ``__all__``.
"""

from coursekit.guidance import classifier, conditional, guided
from coursekit.guidance.classifier import (
    NoisyClassifier as NoisyClassifier,
    classifier_log_prob_grad as classifier_log_prob_grad,
    mixture_posterior_logits as mixture_posterior_logits,
    noisy_classifier_loss as noisy_classifier_loss,
    path_coefficients as path_coefficients,
)
from coursekit.guidance.conditional import (
    ConditionalMLP as ConditionalMLP,
    as_labels as as_labels,
)
from coursekit.guidance.guided import (
    cfg_combine as cfg_combine,
    classifier_free_guidance as classifier_free_guidance,
    classifier_guided_score as classifier_guided_score,
    classifier_guided_velocity as classifier_guided_velocity,
    conditional_cfm_loss as conditional_cfm_loss,
    conditional_dsm_loss as conditional_dsm_loss,
    drop_labels as drop_labels,
    with_label as with_label,
)

__all__ = [
    "ConditionalMLP",
    "NoisyClassifier",
    "as_labels",
    "cfg_combine",
    "classifier",
    "classifier_free_guidance",
    "classifier_guided_score",
    "classifier_guided_velocity",
    "classifier_log_prob_grad",
    "conditional",
    "conditional_cfm_loss",
    "conditional_dsm_loss",
    "drop_labels",
    "guided",
    "mixture_posterior_logits",
    "noisy_classifier_loss",
    "path_coefficients",
    "with_label",
]
