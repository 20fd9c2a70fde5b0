"""Denoising score matching: the true score has the lowest loss; parameterizations agree; exact mixture scores."""

import pytest
import torch

from coursekit.data import toys
from coursekit.diffusion import dsm_loss, noised_mixture_log_prob, noised_mixture_score, score_from_model
from coursekit.diffusion.parameterizations import noise_from_score
from coursekit.sde import VESDE, VPSDE
from coursekit.sde.schedules import CosineSchedule

MIX = toys.mixture("8gaussians").to(dtype=torch.float64)


@pytest.mark.parametrize("sde", [VPSDE(), VPSDE(CosineSchedule()), VESDE()], ids=["vp", "cosine", "ve"])
def test_true_score_beats_a_perturbed_score(sde):
    g = torch.Generator().manual_seed(0)
    x = MIX.sample(4000, generator=g)
    score = noised_mixture_score(MIX, sde)
    t = 1e-3 + (0.99 - 1e-3) * torch.rand(4000, generator=g, dtype=torch.float64)
    noise = torch.randn(4000, 2, generator=g, dtype=torch.float64)
    kw = {"parameterization": "score", "t": t, "noise": noise}
    true = dsm_loss(score, x, sde, **kw)
    for perturb in (lambda y, s: 0.1 * torch.ones_like(y), lambda y, s: 0.05 * y):
        worse = dsm_loss(lambda y, s, perturb=perturb: score(y, s) + perturb(y, s), x, sde, **kw)
        assert worse > true
    assert dsm_loss(lambda y, s: 0.9 * score(y, s), x, sde, **kw) > true


def test_parameterizations_give_the_same_loss(gen):
    sde = VPSDE()
    x = torch.randn(64, 2, generator=gen, dtype=torch.float64)
    score = noised_mixture_score(MIX, sde)
    t = torch.rand(64, generator=gen, dtype=torch.float64) * 0.9 + 0.05

    def noise_model(y, s):
        return noise_from_score(score(y, s), sde.marginal_coefficients(s)[1])

    def data_model(y, s):
        alpha, sigma = sde.marginal_coefficients(s)
        return (y + sigma[:, None] ** 2 * score(y, s)) / alpha[:, None]

    for weighting in ("sigma2", "uniform", "likelihood"):
        a, b, c = (
            dsm_loss(
                model,
                x,
                sde,
                parameterization=name,
                t=t,
                weighting=weighting,
                generator=torch.Generator().manual_seed(1),
            )
            for name, model in (("score", score), ("noise", noise_model), ("data", data_model))
        )
        assert torch.allclose(a, b) and torch.allclose(a, c)


def test_noise_loss_closed_form(gen):
    sde, x = VESDE(), torch.randn(5, 3, generator=gen)
    t, noise = torch.full((5,), 0.5), torch.randn(5, 3, generator=gen)
    loss = dsm_loss(lambda y, s: torch.zeros_like(y), x, sde, t=t, noise=noise)
    assert torch.isclose(loss, (noise**2).sum(1).mean())  # sum over dimensions, mean over points


def test_random_draws_are_reproducible_and_in_range(gen):
    x = torch.randn(16, 2, generator=gen)
    seen = []
    a = dsm_loss(lambda y, s: seen.append(s) or y, x, VPSDE(), t_min=0.2, generator=torch.Generator().manual_seed(3))
    b = dsm_loss(lambda y, s: y, x, VPSDE(), t_min=0.2, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and (seen[0] >= 0.2).all() and (seen[0] <= 1).all()
    assert a.requires_grad is False and a.shape == ()


def test_score_from_model_and_exact_log_prob(gen):
    sde = VPSDE()
    score = noised_mixture_score(MIX, sde)
    log_prob = noised_mixture_log_prob(MIX, sde)
    x = torch.randn(6, 2, generator=gen, dtype=torch.float64).requires_grad_(True)
    t = torch.tensor(0.3, dtype=torch.float64)
    (grad,) = torch.autograd.grad(log_prob(x, t).sum(), x)
    assert torch.allclose(grad, score(x, t))
    noise_model = lambda y, s: noise_from_score(score(y, s), sde.marginal_coefficients(s)[1])  # noqa: E731
    assert torch.allclose(score_from_model(noise_model, sde, "noise")(x, t), score(x, t))
    assert score(x.float(), t).dtype == torch.float32


def test_bad_input(gen):
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="parameterization"):
        dsm_loss(lambda y, s: y, x, VPSDE(), parameterization="velocity")
    with pytest.raises(ValueError, match="weighting"):
        dsm_loss(lambda y, s: y, x, VPSDE(), weighting="snr")
    with pytest.raises(ValueError, match="t_min"):
        dsm_loss(lambda y, s: y, x, VPSDE(), t_min=0.0)
    with pytest.raises(ValueError, match="noise"):
        dsm_loss(lambda y, s: y, x, VPSDE(), noise=torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"t must have shape"):
        dsm_loss(lambda y, s: y, x, VPSDE(), t=torch.ones(3))
    with pytest.raises(ValueError, match="x_data"):
        dsm_loss(lambda y, s: y, torch.zeros(4), VPSDE())
