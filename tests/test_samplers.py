"""Every sampler (samplers, annealed_langevin) reproduces the mixture.

Each is driven by the exact score of a noised Gaussian mixture.
"""

import pytest
import torch

from coursekit.data import toys
from coursekit.density.reverse_time import probability_flow_drift, reverse_sde_drift
from coursekit.diffusion import noised_mixture_score
from coursekit.diffusion.annealed_langevin import annealed_langevin_sample, noise_levels, predictor_corrector_sample
from coursekit.diffusion.samplers import (
    family_drift,
    family_sample,
    probability_flow_sample,
    reverse_sde_sample,
    reverse_sde_step,
    sample_prior,
)
from coursekit.metrics import wasserstein2
from coursekit.sde import VESDE, VPSDE

MIX = toys.mixture("8gaussians")
CHUNKS, N = 4, 500  # W2 is averaged over 4 chunks of 500 points: a single W2 of 1000 points varies by +-20%


def _mean_w2(samples, seed):
    g = torch.Generator().manual_seed(seed)
    return sum(wasserstein2(chunk, MIX.sample(N, generator=g)) for chunk in samples.split(N)) / CHUNKS


@pytest.fixture(scope="module")
def floor():
    """The data floor: mean W2 between two fresh samples of N points (4 pairs)."""
    return _mean_w2(MIX.sample(CHUNKS * N, generator=torch.Generator().manual_seed(100)), 101)


SAMPLERS = {
    "reverse_sde": lambda sde, s, x, g: reverse_sde_sample(sde, s, x, n_steps=100, generator=g),
    "probability_flow": lambda sde, s, x, g: probability_flow_sample(sde, s, x, rtol=1e-4, atol=1e-4),
    "predictor_corrector": lambda sde, s, x, g: predictor_corrector_sample(sde, s, x, n_steps=50, generator=g),
    "family_0.5": lambda sde, s, x, g: family_sample(sde, s, x, lam=0.5, n_steps=100, generator=g),
    "annealed_langevin": lambda sde, s, x, g: annealed_langevin_sample(
        sde, s, x, n_levels=10, n_steps_per_level=20, generator=g
    ),
}


@pytest.mark.parametrize("sde", [VPSDE(), VESDE()], ids=["vp", "ve"])
@pytest.mark.parametrize("name", list(SAMPLERS))
def test_sampler_reproduces_the_mixture(name, sde, floor):
    g = torch.Generator().manual_seed(7)
    x = sample_prior(sde, CHUNKS * N, 2, generator=g)
    out = SAMPLERS[name](sde, noised_mixture_score(MIX, sde), x, g)
    assert out.samples.shape == (CHUNKS * N, 2) and out.nfe > 0
    ratio = _mean_w2(out.samples, 102) / floor
    print(f"{name} {type(sde).__name__}: W2 / floor = {ratio:.3f}, NFE = {out.nfe}")
    assert ratio < 1.2


def test_prior_is_far_from_the_data(floor):
    x = sample_prior(VPSDE(), CHUNKS * N, 2, generator=torch.Generator().manual_seed(3))
    assert _mean_w2(x, 102) > 3 * floor  # so passing the test above means something


def test_family_ends_are_the_pf_ode_and_the_reverse_sde(gen):
    sde, score = VPSDE(), noised_mixture_score(MIX, VPSDE())
    x = torch.randn(10, 2, generator=gen)
    t = torch.tensor(0.3)
    assert torch.allclose(family_drift(sde, score, x, t, 0.0), probability_flow_drift(sde, score, x, t))
    assert torch.allclose(family_drift(sde, score, x, t, 1.0), reverse_sde_drift(sde, score, x, t))
    # lam = 0 with Euler steps is deterministic and equals the Euler solve of the PF ODE
    a = family_sample(sde, score, x, lam=0.0, n_steps=50, generator=torch.Generator().manual_seed(0))
    b = probability_flow_sample(sde, score, x, method="euler", n_steps=50)
    assert torch.allclose(a.samples, b.samples, atol=1e-5) and b.nfe == 50


def test_reverse_sde_step_formula(gen):
    sde, score = VESDE(), noised_mixture_score(MIX, VESDE())
    x, z = torch.randn(5, 2, generator=gen), torch.randn(5, 2, generator=gen)
    t, dt = torch.tensor(0.5), 0.01
    expected = x - reverse_sde_drift(sde, score, x, t) * dt + sde.diffusion(t) * dt**0.5 * z
    assert torch.allclose(reverse_sde_step(sde, score, x, t, dt, noise=z), expected)


def test_reproducible_from_a_generator():
    sde, score = VPSDE(), noised_mixture_score(MIX, VPSDE())
    x = torch.randn(20, 2, generator=torch.Generator().manual_seed(0))
    for fn in (reverse_sde_sample, predictor_corrector_sample, annealed_langevin_sample):
        a = fn(
            sde,
            score,
            x,
            generator=torch.Generator().manual_seed(1),
            **({"n_steps": 20} if fn is not annealed_langevin_sample else {"n_steps_per_level": 2}),
        )
        b = fn(
            sde,
            score,
            x,
            generator=torch.Generator().manual_seed(1),
            **({"n_steps": 20} if fn is not annealed_langevin_sample else {"n_steps_per_level": 2}),
        )
        assert torch.equal(a.samples, b.samples)
    state = torch.get_rng_state()
    reverse_sde_sample(sde, score, x, n_steps=5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(state, torch.get_rng_state())


def test_trajectory_and_nfe():
    sde, score = VPSDE(), noised_mixture_score(MIX, VPSDE())
    x = torch.randn(4, 2)
    out = reverse_sde_sample(sde, score, x, n_steps=10, return_trajectory=True)
    assert out.trajectory.shape == (11, 4, 2) and torch.equal(out.trajectory[0], x) and out.nfe == 10
    assert predictor_corrector_sample(sde, score, x, n_steps=10, n_corrector=2).nfe == 30
    assert annealed_langevin_sample(sde, score, x, n_levels=3, n_steps_per_level=4).nfe == 12


def test_noise_levels_are_geometric():
    for sde in (VPSDE(), VESDE()):
        t = noise_levels(sde, 6, t_min=1e-3)
        sigma = sde.marginal_coefficients(t)[1]
        ratios = sigma[1:] / sigma[:-1]
        assert t[0] == 1 and torch.isclose(t[-1], torch.tensor(1e-3)) and (t[1:] < t[:-1]).all()
        assert torch.allclose(ratios, ratios.mean().expand(5), rtol=1e-4)


def test_bad_input():
    sde, score = VPSDE(), noised_mixture_score(MIX, VPSDE())
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="t_min"):
        reverse_sde_sample(sde, score, x, t_min=1.5)
    with pytest.raises(ValueError, match="lam"):
        family_sample(sde, score, x, lam=-1.0)
    with pytest.raises(TypeError, match="n_steps"):
        reverse_sde_sample(sde, score, x, n_steps=10.0)
    with pytest.raises(ValueError, match="dt"):
        reverse_sde_step(sde, score, x, 0.5, -0.1)
    with pytest.raises(ValueError, match="noise"):
        reverse_sde_step(sde, score, x, 0.5, 0.1, noise=torch.zeros(3, 2))
    with pytest.raises(ValueError, match="n_levels"):
        annealed_langevin_sample(sde, score, x, n_levels=1)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        probability_flow_sample(sde, score, torch.zeros(4))
