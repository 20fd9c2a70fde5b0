"""Checks of the Chapter 7 (guidance) exercises."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from coursekit.course.exercises import (
    Check,
    CheckFailed,
    expect_close,
    expect_shape,
    generator,
    name_mistake,
    probe,
    register,
)
from coursekit.density.mixtures import GaussianMixture
from coursekit.diffusion.dsm import noised_mixture_score
from coursekit.guidance.classifier import classifier_log_prob_grad, mixture_posterior_logits
from coursekit.guidance.guided import cfg_combine, classifier_guided_score, drop_labels
from coursekit.sde.processes import VPSDE

__all__: list[str] = []

CHAPTER = "07_guidance"
F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return generator(seed)


# --- classifier.classifier_log_prob_grad ---------------------------------------------------------


def _toy_classifier() -> Callable[[Tensor, float | Tensor], Tensor]:
    weight = torch.tensor([[1.0, -2.0], [0.5, 1.5], [-1.0, 0.3]], dtype=F64)  # (K, d)

    def classifier(x: Tensor, t: float | Tensor) -> Tensor:
        t = torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1)
        return torch.sin(x @ weight.T) * (1 + t) + (x**2).sum(1, keepdim=True) * weight[:, 0]  # (N, K)

    return classifier


def _grad_values(fn: Callable) -> None:
    classifier = _toy_classifier()
    x = torch.randn(7, 2, generator=_gen(20), dtype=F64)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 1])
    expected = classifier_log_prob_grad(classifier, x, 0.4, y)
    out = expect_shape(fn(classifier, x, 0.4, y), (7, 2), "the gradient")
    with torch.enable_grad():
        xi = x.clone().requires_grad_(True)
        (logit_grad,) = torch.autograd.grad(classifier(xi, 0.4).gather(1, y[:, None]).sum(), xi)
        (axis0_grad,) = torch.autograd.grad(classifier(xi, 0.4).log_softmax(0).gather(1, y[:, None]).sum(), xi)
    name_mistake(
        out,
        expected,
        {
            "the log-softmax runs over the wrong axis: normalise over the K classes "
            "(log_softmax(logits, dim=1) or dim=-1), not over the N points": axis0_grad,
            "the gradient has the wrong sign: grad_x log c(y | x) points towards class y": -expected,
        },
    )
    if torch.allclose(out.detach(), logit_grad):
        raise CheckFailed(
            "you differentiate the raw logit l_y; differentiate log c(y | x) = log_softmax(logits)[y], "
            "which subtracts the log-sum-exp of all logits"
        )
    expect_close(out, expected, "the gradient of log_softmax(classifier(x, t))[y]", atol=1e-9)
    expect_close(
        fn(classifier, x, 0.4, 2),
        classifier_log_prob_grad(classifier, x, 0.4, 2),
        "the gradient for one label y = 2 given as an int",
        atol=1e-9,
    )


def _grad_no_grad(fn: Callable) -> None:
    classifier = _toy_classifier()
    x = torch.randn(5, 2, generator=_gen(21), dtype=F64)
    with torch.no_grad():
        out = fn(classifier, x, torch.full((5,), 0.7, dtype=F64), 1)
    expect_close(
        out,
        classifier_log_prob_grad(classifier, x, 0.7, 1),
        "the gradient computed inside torch.no_grad() (samplers run without gradients: "
        "wrap your code in torch.enable_grad())",
        atol=1e-9,
    )


register(
    "classifier.classifier_log_prob_grad",
    classifier_log_prob_grad,
    CHAPTER,
    [Check("the gradient of the log-softmax", _grad_values), Check("works under torch.no_grad()", _grad_no_grad)],
)


# --- guidance.classifier_guided_score ------------------------------------------------------------


def _overlapping_mixture() -> GaussianMixture:
    return GaussianMixture.isotropic(torch.tensor([[-1.0, 0.0], [1.0, 0.5], [0.0, 1.5]], dtype=F64), 0.6)


def _evaluate(guided: object, x: torch.Tensor, t: object) -> object:
    """``guided(x, t)`` (the student's function returns a function), or the type name of what it returned."""
    return guided(x, t) if callable(guided) else type(guided).__name__


def _bayes_exact(fn: Callable) -> None:
    mixture, sde = _overlapping_mixture(), VPSDE()
    score = noised_mixture_score(mixture, sde)
    classifier = mixture_posterior_logits(mixture, sde)
    x = torch.randn(8, 2, generator=_gen(30), dtype=F64)
    t = torch.full((8,), 0.3, dtype=F64)
    out = probe(fn, lambda: _evaluate(fn(score, classifier, 2, 1.0), x, t))
    if isinstance(out, str):
        raise CheckFailed(f"return a function score(x, t), got {out}")
    component = GaussianMixture.isotropic(mixture.means[2:3], 0.6)
    exact = noised_mixture_score(component, sde)(x, t)
    out = expect_shape(out, (8, 2), "the guided score")
    expect_close(
        out,
        exact,
        "the guided score with the exact score, the exact posterior and scale 1 (by Bayes' "
        "rule it is the score of component 2 alone)",
        atol=1e-8,
    )


def _scale(fn: Callable) -> None:
    mixture, sde = _overlapping_mixture(), VPSDE()
    score = noised_mixture_score(mixture, sde)
    classifier = mixture_posterior_logits(mixture, sde)
    x = torch.randn(6, 2, generator=_gen(31), dtype=F64)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    out = probe(fn, lambda: _evaluate(fn(score, classifier, labels, 3.0), x, 0.5))
    if isinstance(out, str):
        raise CheckFailed(f"return a function score(x, t), got {out}")
    out = expect_shape(out, (6, 2), "the guided score")
    t = torch.tensor(0.5, dtype=F64)  # the time of the call above, for the reference
    expected = classifier_guided_score(score, classifier, labels, 3.0)(x, t)
    grad = classifier_log_prob_grad(classifier, x, t, labels)
    if torch.allclose(out, 3.0 * score(x, t) + grad):
        raise CheckFailed("the scale multiplies the classifier's gradient, not the score")
    name_mistake(
        out,
        expected,
        {
            "add the classifier's gradient, do not subtract it: score + scale * grad log c(y | x)": score(x, t)
            - 3.0 * grad,
        },
    )
    expect_close(out, expected, "the guided score with scale 3 and one label per point", atol=1e-8)


register(
    "guidance.classifier_guided_score",
    classifier_guided_score,
    CHAPTER,
    [Check("Bayes' rule with exact parts", _bayes_exact), Check("the scale and per-point labels", _scale)],
)


# --- guidance.cfg_combine ------------------------------------------------------------------------


def _cfg_values(fn: Callable) -> None:
    g = _gen(10)
    cond, uncond = torch.randn(6, 3, generator=g, dtype=F64), torch.randn(6, 3, generator=g, dtype=F64)
    w = 2.5
    out = expect_shape(fn(cond, uncond, w), (6, 3), "the guided prediction")
    if torch.allclose(out, w * cond - (1 + w) * uncond) or torch.allclose(out, (1 + w) * uncond - w * cond):
        raise CheckFailed("the weights are swapped: the conditional prediction gets 1 + w and the unconditional -w")
    if torch.allclose(out, cond + w * uncond) or torch.allclose(out, w * cond + (1 - w) * uncond):
        raise CheckFailed("write it as cond + w * (cond - uncond): guidance extrapolates away from the unconditional")
    expect_close(out, cfg_combine(cond, uncond, w), "(1 + w) * cond - w * uncond with w = 2.5", atol=1e-12)


def _cfg_limits(fn: Callable) -> None:
    g = _gen(11)
    cond, uncond = torch.randn(4, 2, generator=g, dtype=F64), torch.randn(4, 2, generator=g, dtype=F64)
    expect_close(fn(cond, uncond, 0.0), cond, "the result with w = 0 (must be the conditional prediction)", atol=1e-12)
    expect_close(
        fn(cond, uncond, -1.0), uncond, "the result with w = -1 (must be the unconditional prediction)", atol=1e-12
    )


register(
    "guidance.cfg_combine",
    cfg_combine,
    CHAPTER,
    [Check("matches (1 + w) cond - w uncond", _cfg_values), Check("w = 0 and w = -1", _cfg_limits)],
)


# --- guidance.drop_labels ------------------------------------------------------------------------


def _drop_shape_and_values(fn: Callable) -> None:
    labels = torch.arange(10) % 4
    out = expect_shape(fn(labels, 0.5, 4, generator=_gen(1)), (10,), "the new labels")
    if out.dtype != torch.long:
        raise CheckFailed(f"the labels must stay integers (torch.long), got {out.dtype}")
    if not bool(((out == labels) | (out == 4)).all()):
        raise CheckFailed("each label must either stay as it is or become the null label")
    if not torch.equal(labels, torch.arange(10) % 4):
        raise CheckFailed("you modified the input labels in place; work on a copy (torch.where makes one)")
    expect_close(fn(labels, 0.0, 4, generator=_gen(2)), labels, "the labels with p_uncond = 0")
    expect_close(fn(labels, 1.0, 4, generator=_gen(2)), torch.full_like(labels, 4), "the labels with p_uncond = 1")


def _drop_rate(fn: Callable) -> None:
    n, p = 20000, 0.2
    out = fn(torch.zeros(n, dtype=torch.long), p, 7, generator=_gen(3))
    rate = float((out == 7).double().mean())
    se = (p * (1 - p) / n) ** 0.5
    if abs(rate - (1 - p)) < 5 * se:
        raise CheckFailed(
            f"you drop {rate:.3f} of the labels with p_uncond = {p}: you keep a label with "
            "probability p instead of dropping it"
        )
    if abs(rate - p) > 5 * se:
        raise CheckFailed(f"you drop a fraction {rate:.3f} of the labels, expected p_uncond = {p} (+- {5 * se:.3f})")


def _drop_generator(fn: Callable) -> None:
    labels = torch.zeros(200, dtype=torch.long)
    a, b, c = (fn(labels, 0.5, 1, generator=_gen(s)) for s in (4, 4, 5))
    if not torch.equal(a, b):
        raise CheckFailed("two calls with generators seeded alike differ: draw u = torch.rand(N, generator=generator)")
    if torch.equal(a, c):
        raise CheckFailed("the result does not depend on the generator: draw the random numbers from it")


register(
    "guidance.drop_labels",
    drop_labels,
    CHAPTER,
    [
        Check("keeps or nulls each label", _drop_shape_and_values),
        Check("drops a fraction p_uncond", _drop_rate),
        Check("draws from the generator", _drop_generator),
    ],
)
