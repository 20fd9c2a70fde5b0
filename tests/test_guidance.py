"""Guidance (Chapter 7): label dropout, CFG, classifier guidance, the conditional network and the noisy classifier."""

import math

import pytest
import torch

from coursekit import guidance
from coursekit.density.mixtures import GaussianMixture, noised_score
from coursekit.diffusion import dsm_loss, noised_mixture_score
from coursekit.diffusion.parameterizations import velocity_from_score
from coursekit.diffusion.samplers import family_sample, sample_prior
from coursekit.flows.flow_matching import cfm_loss
from coursekit.guidance.classifier import (
    NoisyClassifier,
    classifier_log_prob_grad,
    mixture_posterior_logits,
    noisy_classifier_loss,
)
from coursekit.guidance.conditional import ConditionalMLP
from coursekit.sde import VPSDE

F64 = torch.float64


def _mixture():
    """Two overlapping components on the x-axis: the class of a point is uncertain."""
    return GaussianMixture.isotropic(torch.tensor([[-0.75, 0.0], [0.75, 0.0]], dtype=F64), 0.75)


def _exact_conditional_score(mixture, sde):
    """model(x, t, y): the exact score of component y, or of the whole mixture for the null label 2."""
    components = [GaussianMixture.isotropic(mixture.means[k : k + 1], 0.75) for k in range(2)]
    scores = [noised_mixture_score(c, sde) for c in components] + [noised_mixture_score(mixture, sde)]

    def model(x, t, y):
        y = torch.as_tensor(y).expand(x.shape[0])
        out = torch.stack([s(x, t) for s in scores])  # (3, N, d)
        return out[y, torch.arange(x.shape[0])]

    model.null_label = 2
    return model


def test_conditional_mlp_shapes_and_null_label():
    net = ConditionalMLP(3, num_classes=4, hidden=16, layers=2)
    assert net.null_label == 4
    x = torch.randn(5, 3)
    assert net(x, torch.rand(5), torch.tensor([0, 1, 2, 3, 4])).shape == (5, 3)
    assert net(x, 0.5, 2).shape == (5, 3)
    with pytest.raises(ValueError, match="labels must lie in 0..4"):
        net(x, 0.5, 5)
    with pytest.raises(ValueError, match="integers"):
        net(x, 0.5, torch.zeros(5))


def test_drop_labels_rate_and_limits():
    labels = torch.zeros(40000, dtype=torch.long)
    out = guidance.drop_labels(labels, 0.1, 9, generator=torch.Generator().manual_seed(0))
    rate = float((out == 9).double().mean())
    assert abs(rate - 0.1) < 5 * math.sqrt(0.1 * 0.9 / 40000)  # 5 standard errors
    assert bool(((out == 0) | (out == 9)).all())
    assert torch.equal(guidance.drop_labels(labels[:10], 0.0, 9), labels[:10])
    assert bool((guidance.drop_labels(labels[:10], 1.0, 9) == 9).all())
    with pytest.raises(ValueError, match="p_uncond"):
        guidance.drop_labels(labels, 1.5, 9)


def test_cfg_with_w_zero_is_the_conditional_model():
    torch.manual_seed(0)
    net = ConditionalMLP(2, num_classes=3, hidden=16, layers=2)
    x, t, y = torch.randn(6, 2), torch.rand(6), torch.tensor([0, 1, 2, 0, 1, 2])
    with torch.no_grad():
        assert torch.equal(guidance.classifier_free_guidance(net, y, 0.0)(x, t), net(x, t, y))
        guided = guidance.classifier_free_guidance(net, y, 1.5)(x, t)
        expected = 2.5 * net(x, t, y) - 1.5 * net(x, t, net.null_label)
        unconditional = guidance.classifier_free_guidance(net, y, -1.0)(x, 0.3)
        assert torch.allclose(unconditional, net(x, 0.3, 3), atol=1e-6)
    assert torch.allclose(guided, expected, atol=1e-6)  # the batched call matches two separate calls


@pytest.mark.parametrize("w", [-2.0])
def test_cfg_refuses_w_below_minus_one(w):
    with pytest.raises(ValueError, match="w must be >= -1"):
        guidance.classifier_free_guidance(ConditionalMLP(2, 2), 0, w)


def test_cfg_with_analytic_scores_concentrates_on_the_requested_component():
    """With exact scores, w = 0 samples component 0 exactly; growing w pushes mass away from component 1."""
    mixture, sde = _mixture(), VPSDE()
    model = _exact_conditional_score(mixture, sde)
    posterior = mixture_posterior_logits(mixture, sde)
    n = 3000
    fractions, spreads = [], []
    for w in (0.0, 1.0, 3.0):
        gen = torch.Generator().manual_seed(1)
        x = sample_prior(sde, n, 2, generator=gen, dtype=F64)
        out = family_sample(
            sde, guidance.classifier_free_guidance(model, 0, w), x, lam=1.0, n_steps=200, generator=gen
        ).samples
        in_class = posterior(out, 1e-3).argmax(1) == 0  # the Bayes classification of the clean point
        fractions.append(float(in_class.double().mean()))
        spreads.append(float(out[:, 0].std()))  # along the axis that separates the classes
    se = math.sqrt(0.25 / n)
    exact = 0.5 * (1 + math.erf(1.0 / math.sqrt(2)))  # P(x_1 < 0 | component 0) = Phi(0.75 / 0.75)
    assert abs(fractions[0] - exact) < 5 * se + 0.01, fractions
    for low, high in zip(fractions[:-1], fractions[1:], strict=True):  # increasing, by more than 3 standard errors
        assert high - low > 3 * math.sqrt((low * (1 - low) + high * (1 - high)) / n), fractions
    assert spreads[2] < spreads[0], spreads  # fidelity bought with diversity


def test_classifier_guidance_with_exact_parts_is_bayes_rule():
    mixture, sde = _mixture(), VPSDE()
    score, posterior = noised_mixture_score(mixture, sde), mixture_posterior_logits(mixture, sde)
    guided = guidance.classifier_guided_score(score, posterior, 1, 1.0)
    x, t = torch.randn(10, 2, dtype=F64), torch.full((10,), 0.2, dtype=F64)
    expected = _exact_conditional_score(mixture, sde)(x, t, 1)
    assert torch.allclose(guided(x, t), expected, atol=1e-9)


def test_classifier_guided_velocity_is_the_conditional_flow_velocity():
    """On the flow-matching path, velocity + guidance term = the exact velocity of one component."""
    mixture = _mixture()
    component = GaussianMixture.isotropic(mixture.means[:1], 0.75)

    def exact_velocity(gmm):
        def velocity(x, t):
            t = torch.as_tensor(t, dtype=x.dtype)
            return velocity_from_score(x, noised_score(gmm, x, 1 - t, t), 1 - t, t, -1.0, 1.0)

        return velocity

    guided = guidance.classifier_guided_velocity(exact_velocity(mixture), mixture_posterior_logits(mixture), 0, 1.0)
    x = torch.randn(8, 2, dtype=F64)
    for t in (0.1, 0.5, 0.9):
        assert torch.allclose(guided(x, torch.tensor(t, dtype=F64)), exact_velocity(component)(x, t), atol=1e-8)


def test_classifier_log_prob_grad_matches_finite_differences():
    torch.manual_seed(0)
    classifier = NoisyClassifier(2, 3, hidden=16, layers=2).double()
    x, y = torch.randn(4, 2, dtype=F64), torch.tensor([0, 1, 2, 1])
    grad = classifier_log_prob_grad(classifier, x, 0.3, y)
    h = 1e-6
    for i in range(2):
        e = torch.zeros(2, dtype=F64)
        e[i] = h
        with torch.no_grad():
            lp = lambda z: torch.log_softmax(classifier(z, 0.3), 1).gather(1, y[:, None])[:, 0]  # noqa: E731
            fd = (lp(x + e) - lp(x - e)) / (2 * h)
        assert torch.allclose(grad[:, i], fd, atol=1e-6)


def test_conditional_losses_reduce_to_the_unconditional_ones():
    torch.manual_seed(0)
    net = ConditionalMLP(2, num_classes=3, hidden=16, layers=2)
    x, labels = torch.randn(16, 2), torch.randint(0, 3, (16,))
    noise, t = torch.randn(16, 2), torch.rand(16) * 0.9 + 0.05
    keep = guidance.conditional_cfm_loss(net, x, labels, p_uncond=0.0, x_noise=noise, t=t)
    assert torch.allclose(keep, cfm_loss(lambda z, s: net(z, s, labels), x, x_noise=noise, t=t))
    drop = guidance.conditional_dsm_loss(net, x, labels, VPSDE(), p_uncond=1.0, noise=noise, t=t)
    assert torch.allclose(drop, dsm_loss(lambda z, s: net(z, s, 3), x, VPSDE(), noise=noise, t=t))


def test_noisy_classifier_loss_prefers_the_exact_posterior():
    """The exact posterior's cross-entropy is below log K (chance) and below that of a shifted posterior."""
    mixture = _mixture()
    x, labels = mixture.sample_with_labels(4000, generator=torch.Generator().manual_seed(0))
    for sde in (None, VPSDE()):
        exact = mixture_posterior_logits(mixture, sde)
        loss = float(noisy_classifier_loss(exact, x, labels, sde=sde, generator=torch.Generator().manual_seed(1)))
        wrong = float(
            noisy_classifier_loss(
                lambda z, t, exact=exact: exact(z, t).flip(1),
                x,
                labels,
                sde=sde,
                generator=torch.Generator().manual_seed(1),
            )
        )
        assert loss < math.log(2) - 0.05 and loss < wrong
