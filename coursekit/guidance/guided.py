r"""Guidance: conditional training with label dropout, classifier-free and classifier guidance (Chapter 7).

**Classifier guidance** (Dhariwal & Nichol 2021). Bayes' rule at every noise level,
$\nabla\log p_t(x \mid y) = \nabla\log p_t(x) + \nabla\log p_t(y \mid x)$ (the term $\log p(y)$ has no
$x$), lets an unconditional score be steered by a *noisy* classifier $c(y \mid x_t, t)$; a scale
$\gamma$ sharpens the class: $s_\gamma = s(x, t) + \gamma\,\nabla_x\log c(y \mid x, t)$.

**Classifier-free guidance** (Ho & Salimans 2022). Write $\gamma = 1 + w$ and replace the classifier
by the difference of a conditional and an unconditional model, both one network with a null label
$\varnothing$ (learned by dropping labels in training):
$$\tilde s_w(x, t, y) = (1 + w)\, s_\theta(x, t, y) - w\, s_\theta(x, t, \varnothing).$$
$w = 0$ is the conditional model, $w > 0$ trades diversity for fidelity. Because the flow-matching
velocity is affine in the score, $v = \tfrac{\dot\alpha_t}{\alpha_t}x + c_t\,s$, the same
combination of velocities is the velocity of the guided score: every function here works for
scores and velocities alike (:func:`classifier_guided_velocity` converts the classifier's gradient).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
from torch import Tensor

from coursekit._shapes import as_time, broadcast_time, check_points
from coursekit.diffusion.dsm import dsm_loss
from coursekit.flows.flow_matching import cfm_loss
from coursekit.guidance.classifier import classifier_log_prob_grad
from coursekit.guidance.conditional import as_labels
from coursekit.sde.processes import SDE

__all__ = [
    "cfg_combine",
    "classifier_free_guidance",
    "classifier_guided_score",
    "classifier_guided_velocity",
    "conditional_cfm_loss",
    "conditional_dsm_loss",
    "drop_labels",
    "with_label",
]

Field = Callable[[Tensor, Tensor], Tensor]
ConditionalModel = Callable[[Tensor, Tensor, Tensor], Tensor]
_Label = TypeVar("_Label")  # what with_label hands the model: an int, or labels of shape (N,)
Classifier = Callable[[Tensor, Tensor], Tensor]


def _null(model: object, null_label: int | None) -> int:
    if null_label is not None:
        return int(null_label)
    if not hasattr(model, "null_label"):
        raise ValueError("give null_label: the model has no null_label attribute")
    return int(model.null_label)


def drop_labels(
    labels: Tensor, p_uncond: float, null_label: int, *, generator: torch.Generator | None = None
) -> Tensor:
    r"""Label dropout: replace each label by the null label $\varnothing$ with probability $p$ (Chapter 7, exercise).

    $$\tilde y_n = \begin{cases}\varnothing & u_n < p\\ y_n & \text{otherwise}\end{cases},
      \qquad u_n \sim U(0, 1)\ \text{i.i.d.}$$

    Args:
        labels: Class labels, ``long`` of shape ``(N,)``.
        p_uncond: Probability $p \in [0, 1]$ of dropping a label.
        null_label: The index of $\varnothing$.
        generator: Source of randomness for the $u_n$ (drawn with ``torch.rand(N)``).

    Returns:
        The new labels, shape ``(N,)`` (the input is not modified).

    Example:
        >>> drop_labels(torch.tensor([0, 1, 2]), 1.0, 3)
        tensor([3, 3, 3])
    """
    if not isinstance(labels, Tensor) or labels.ndim != 1:
        raise ValueError(f"labels must be a tensor of shape (N,), got {getattr(labels, 'shape', type(labels))}")
    if not 0.0 <= float(p_uncond) <= 1.0:
        raise ValueError(f"p_uncond must lie in [0, 1], got {p_uncond}")
    gen_device = generator.device if generator is not None else labels.device
    u = torch.rand(labels.shape[0], generator=generator, device=gen_device).to(labels.device)
    return torch.where(u < p_uncond, torch.full_like(labels, int(null_label)), labels)


def with_label(model: Callable[[Tensor, Tensor, _Label], Tensor], y: _Label) -> Field:
    """Fix the label of a conditional model: returns ``field(x, t) = model(x, t, y)`` (Chapter 7).

    Args:
        model: ``model(x, t, y) -> (N, d)``.
        y: A label or labels of shape ``(N,)`` (may be the null label).

    Returns:
        ``field(x, t) -> (N, d)``.
    """
    return lambda x, t: model(x, t, y)


def cfg_combine(conditional: Tensor, unconditional: Tensor, w: float) -> Tensor:
    r"""Classifier-free guidance: $(1 + w)\,f_{\text{cond}} - w\,f_{\text{uncond}}$ (Chapter 7, exercise).

    $w = 0$ returns the conditional prediction, $w = -1$ the unconditional one. Works for scores,
    noise predictions and velocities (each is affine in the score).

    Args:
        conditional: $f_\theta(x, t, y)$, shape ``(N, d)``.
        unconditional: $f_\theta(x, t, \varnothing)$, shape ``(N, d)``.
        w: The guidance scale.

    Returns:
        The guided prediction, shape ``(N, d)``.

    Example:
        >>> cfg_combine(torch.ones(1, 2), torch.zeros(1, 2), 2.0)
        tensor([[3., 3.]])
    """
    if conditional.shape != unconditional.shape:
        raise ValueError(f"shapes differ: {tuple(conditional.shape)} and {tuple(unconditional.shape)}")
    return (1 + w) * conditional - w * unconditional


def classifier_free_guidance(
    model: ConditionalModel, y: int | Tensor, w: float, *, null_label: int | None = None
) -> Field:
    r"""The guided field $(1 + w) f_\theta(x, t, y) - w f_\theta(x, t, \varnothing)$ as ``field(x, t)`` (Chapter 7).

    Pass it to any sampler: a score to :mod:`coursekit.diffusion.samplers` (through
    :func:`coursekit.diffusion.dsm.score_from_model`), a velocity to :func:`coursekit.flows.flow_matching.sample`.
    Both predictions come from one batched call of the network; $w = 0$ makes one plain call.

    Args:
        model: ``model(x, t, y) -> (N, d)`` with a null label
            (e.g. :class:`~coursekit.guidance.conditional.ConditionalMLP`).
        y: The requested label, an int or shape ``(N,)``.
        w: Guidance scale $w \ge -1$.
        null_label: Index of $\varnothing$; default ``model.null_label``.

    Returns:
        ``field(x, t) -> (N, d)`` for ``x`` of shape ``(N, d)`` and ``t`` scalar or ``(N,)``.
    """
    null = _null(model, null_label)
    if not w >= -1:
        raise ValueError(f"w must be >= -1 (w = -1 is the unconditional model), got {w}")

    def field(x: Tensor, t: Tensor) -> Tensor:
        check_points(x)
        labels = as_labels(y, x, null + 1)
        if w == 0:
            return model(x, t, labels)
        t = as_time(t, x)
        tt = torch.cat([t, t]) if t.ndim == 1 else t
        both = model(torch.cat([x, x]), tt, torch.cat([labels, torch.full_like(labels, null)]))
        conditional, unconditional = both.chunk(2)
        return cfg_combine(conditional, unconditional, w)

    return field


def conditional_cfm_loss(
    model: ConditionalModel,
    x_data: Tensor,
    labels: Tensor,
    *,
    p_uncond: float = 0.1,
    null_label: int | None = None,
    generator: torch.Generator | None = None,
    **kwargs: object,
) -> Tensor:
    r"""Conditional flow matching with label dropout (Chapter 7).

    $\mathbb E\,\|v_\theta(x_t, t, \tilde y) - (x_{\text{noise}} - x_{\text{data}})\|^2$ with
    $\tilde y$ from :func:`drop_labels` (drawn first from ``generator``), then
    :func:`coursekit.flows.flow_matching.cfm_loss` (keyword arguments go there).

    Args:
        model: ``model(x, t, y) -> (N, d)``.
        x_data: Data, shape ``(N, d)``.
        labels: Their labels, shape ``(N,)``.
        p_uncond: Probability of the null label.
        null_label: Index of $\varnothing$; default ``model.null_label``.
        generator: Source of randomness.
        **kwargs: ``coupling``, ``x_noise``, ``t`` of :func:`~coursekit.flows.flow_matching.cfm_loss`.

    Returns:
        The loss, a 0-d tensor.
    """
    dropped = drop_labels(labels, p_uncond, _null(model, null_label), generator=generator)
    return cfm_loss(with_label(model, dropped), x_data, generator=generator, **kwargs)  # type: ignore[arg-type]


def conditional_dsm_loss(
    model: ConditionalModel,
    x_data: Tensor,
    labels: Tensor,
    sde: SDE,
    *,
    p_uncond: float = 0.1,
    null_label: int | None = None,
    generator: torch.Generator | None = None,
    **kwargs: object,
) -> Tensor:
    r"""Conditional denoising score matching with label dropout (Chapter 7).

    :func:`coursekit.diffusion.dsm.dsm_loss` of the field $(x, t) \mapsto f_\theta(x, t, \tilde y)$, with
    $\tilde y$ from :func:`drop_labels` (drawn first from ``generator``).

    Args:
        model: ``model(x, t, y) -> (N, d)`` (by default a noise prediction).
        x_data: Data, shape ``(N, d)``.
        labels: Their labels, shape ``(N,)``.
        sde: The forward SDE.
        p_uncond: Probability of the null label.
        null_label: Index of $\varnothing$; default ``model.null_label``.
        generator: Source of randomness.
        **kwargs: ``parameterization``, ``weighting``, ``t_min``, ``t``, ``noise`` of ``dsm_loss``.

    Returns:
        The loss, a 0-d tensor.
    """
    dropped = drop_labels(labels, p_uncond, _null(model, null_label), generator=generator)
    return dsm_loss(with_label(model, dropped), x_data, sde, generator=generator, **kwargs)  # type: ignore[arg-type]


def classifier_guided_score(score: Field, classifier: Classifier, y: int | Tensor, scale: float = 1.0) -> Field:
    r"""Classifier guidance $s(x, t) + \gamma\,\nabla_x \log c(y \mid x, t)$ (Chapter 7, exercise).

    With the exact score of $p_t$ and the exact posterior $p_t(y \mid x)$ and $\gamma = 1$ this is
    the exact conditional score $\nabla \log p_t(x \mid y)$ (Bayes' rule).

    Args:
        score: ``score(x, t) -> (N, d)``, unconditional (or conditional: Dhariwal & Nichol 2021).
        classifier: ``classifier(x, t) -> (N, K)`` logits of the noisy classifier.
        y: The requested label, an int or shape ``(N,)``.
        scale: $\gamma$.

    Returns:
        ``score(x, t) -> (N, d)``.
    """

    def guided(x: Tensor, t: Tensor) -> Tensor:
        return score(x, t) + scale * classifier_log_prob_grad(classifier, x, t, y)

    return guided


def classifier_guided_velocity(
    velocity: Field, classifier: Classifier, y: int | Tensor, scale: float = 1.0, *, alpha_min: float = 1e-2
) -> Field:
    r"""Classifier guidance for the flow-matching path $x_t = (1-t)x_{\text{data}} + t x_{\text{noise}}$ (Chapter 7).

    The velocity is affine in the score, $v = -\frac{x + t\,s}{1 - t}$, so adding $\gamma\nabla\log c$
    to the score adds to the velocity
    $$\tilde v(x, t) = v(x, t) - \gamma\,\frac{t}{1 - t}\,\nabla_x \log c(y \mid x, t).$$
    The factor blows up at $t = 1$, where the classifier knows nothing: $1 - t$ is clamped to
    ``alpha_min``.

    Args:
        velocity: ``velocity(x, t) -> (N, d)``.
        classifier: ``classifier(x, t) -> (N, K)`` logits, trained on the same path.
        y: The requested label, an int or shape ``(N,)``.
        scale: $\gamma$.
        alpha_min: Smallest $1 - t$ used in the factor.

    Returns:
        ``velocity(x, t) -> (N, d)``.
    """

    def guided(x: Tensor, t: Tensor) -> Tensor:
        tb = broadcast_time(t, x)
        factor = tb / (1 - tb).clamp_min(alpha_min)
        return velocity(x, t) - scale * factor * classifier_log_prob_grad(classifier, x, t, y)

    return guided
