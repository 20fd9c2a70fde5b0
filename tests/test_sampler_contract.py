"""What every sampler and ODE solve promises (issue 14): safe defaults, no autograd graph, one result type.

* Every sampler of ``samplers`` and ``annealed_langevin``, with every SDE of the library at its
  default settings and the exact score of a Gaussian mixture, returns finite samples and warns
  about nothing, in float32 and float64 (the cosine schedule used to give NaN at t = 1).
* No sampler or ODE solve builds an autograd graph unless asked with ``enable_grad=True``.
* All return :class:`coursekit.flows.ode.Solution`; ``n_steps`` steps make a grid of ``n_steps + 1``
  times, and ``trajectory[k]`` is the state at ``t_grid[k]``.
"""

import inspect
import warnings

import pytest
import torch

from coursekit.data import toys
from coursekit.diffusion import noised_mixture_score
from coursekit.diffusion.annealed_langevin import annealed_langevin_sample, predictor_corrector_sample
from coursekit.diffusion.samplers import (
    SamplerOutput,
    family_sample,
    probability_flow_sample,
    reverse_sde_sample,
    sample_prior,
)
from coursekit.flows.ode import ODESolution, Solution, euler, integrate
from coursekit.nn.networks import MLP
from coursekit.sde import processes
from coursekit.sde.processes import VESDE, VPSDE, BrownianMotion, GeometricBrownianMotion, OrnsteinUhlenbeck
from coursekit.sde.schedules import CosineSchedule, LinearBetaSchedule

MIX = toys.mixture("8gaussians")
SDES = {
    "VP linear": VPSDE(LinearBetaSchedule()),
    "VP cosine": VPSDE(CosineSchedule()),
    "VE": VESDE(),
    "OU": OrnsteinUhlenbeck(),
    "Brownian": BrownianMotion(),
}
# SDEs the samplers cannot take, and why: a test below checks that they say so
NOT_SAMPLEABLE = {
    GeometricBrownianMotion: "multiplicative noise: the reverse-time drift f - g^2 s needs G = g(t)",
    processes.DriftDiffusionSDE: "no closed-form marginal, so no exact score and no prior",
}
SAMPLERS = {  # every sampler at its default settings
    "family_sample": lambda sde, s, x, g: family_sample(sde, s, x, generator=g),
    "family_sample(lam=0)": lambda sde, s, x, g: family_sample(sde, s, x, lam=0.0),
    "reverse_sde_sample": lambda sde, s, x, g: reverse_sde_sample(sde, s, x, generator=g),
    "probability_flow_sample": lambda sde, s, x, g: probability_flow_sample(sde, s, x),
    "predictor_corrector_sample": lambda sde, s, x, g: predictor_corrector_sample(sde, s, x, generator=g),
    "annealed_langevin_sample": lambda sde, s, x, g: annealed_langevin_sample(sde, s, x, generator=g),
}


def test_every_sde_of_the_library_is_covered():
    concrete = {
        cls
        for _, cls in inspect.getmembers(processes, inspect.isclass)
        if issubclass(cls, processes.SDE) and not inspect.isabstract(cls)
    }
    covered = {type(sde) for sde in SDES.values()} | set(NOT_SAMPLEABLE)
    assert concrete <= covered, f"add these SDEs to the sampler tests: {concrete - covered}"


MEAN, STD = torch.tensor([1.0, -0.5]), 0.5  # data N(MEAN, STD^2 I): its noised score is exact and cheap


def gaussian_score(sde):
    r"""$\nabla\log p_t(x) = -(x - \alpha_t m) / (\alpha_t^2 s^2 + \sigma_t^2)$ for data $\mathcal N(m, s^2 I)$."""

    def score(x, t):
        alpha, sigma = sde.marginal_coefficients(torch.as_tensor(t, dtype=x.dtype))
        return -(x - alpha * MEAN.to(x.dtype)) / (alpha**2 * STD**2 + sigma**2)

    return score


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("sde_name", list(SDES))
@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_every_sampler_with_every_sde_at_its_defaults(sampler, sde_name, dtype):
    sde = SDES[sde_name]
    g = torch.Generator().manual_seed(0)
    x = sample_prior(sde, 2000, 2, generator=g, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = SAMPLERS[sampler](sde, gaussian_score(sde), x, g)
    assert isinstance(out, Solution) and out.samples.shape == (2000, 2) and out.samples.dtype == dtype
    assert torch.isfinite(out.samples).all(), f"{sampler} with {sde_name} in {dtype}: non-finite samples"
    assert out.nfe > 0
    if float(sde.marginal_coefficients(1.0)[0]) < 0.02 or sde_name == "VE":  # the prior is the terminal law
        torch.testing.assert_close(out.samples.mean(0).double(), MEAN.double(), atol=0.1, rtol=0)
        torch.testing.assert_close(out.samples.std(0).double(), torch.full((2,), STD).double(), atol=0.1, rtol=0)


@pytest.mark.parametrize("sde_name", list(SDES))
@pytest.mark.parametrize("sampler", ["reverse_sde_sample", "probability_flow_sample"])
def test_the_mixture_score_from_t_equal_one(sampler, sde_name):
    """The exact score of a noised mixture (alpha_1 = 0 for the cosine schedule) at the default settings."""
    sde = SDES[sde_name]
    g = torch.Generator().manual_seed(1)
    x = sample_prior(sde, 64, 2, generator=g)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = SAMPLERS[sampler](sde, noised_mixture_score(MIX, sde), x, g)
    assert torch.isfinite(out.samples).all(), f"{sampler} with {sde_name}: non-finite samples"


@pytest.mark.parametrize("sampler", ["family_sample", "probability_flow_sample", "predictor_corrector_sample"])
def test_samplers_refuse_multiplicative_noise(sampler):
    sde = GeometricBrownianMotion()
    score = lambda x, t: -x  # noqa: E731
    with pytest.raises(ValueError, match="additive noise"):
        SAMPLERS[sampler](sde, score, torch.ones(4, 2), torch.Generator().manual_seed(0))


def _net() -> MLP:
    torch.manual_seed(0)
    return MLP(2, hidden=16, layers=2).double()


GRAPH_FREE = {  # every sampler and solve, at a few steps, with an nn.Module as the field
    "family_sample": lambda f, x, **kw: family_sample(VPSDE(), f, x, lam=0.5, n_steps=4, **kw).samples,
    "reverse_sde_sample": lambda f, x, **kw: reverse_sde_sample(VPSDE(), f, x, n_steps=4, **kw).samples,
    "probability_flow_sample": lambda f, x, **kw: (
        probability_flow_sample(VPSDE(), f, x, method="rk4", n_steps=2, **kw).samples
    ),
    "predictor_corrector_sample": lambda f, x, **kw: predictor_corrector_sample(VESDE(), f, x, n_steps=3, **kw).samples,
    "annealed_langevin_sample": lambda f, x, **kw: (
        annealed_langevin_sample(VESDE(), f, x, n_levels=2, n_steps_per_level=2, **kw).samples
    ),
    "integrate(dopri5)": lambda f, x, **kw: integrate(f, x, torch.tensor([1.0, 0.5], dtype=x.dtype), **kw).samples,
    "integrate(rk4)": lambda f, x, **kw: (
        integrate(f, x, torch.linspace(1, 0, 3, dtype=x.dtype), method="rk4", **kw).samples
    ),
    "euler": lambda f, x, **kw: euler(f, x, torch.linspace(1, 0, 3, dtype=x.dtype), **kw)[-1],
}


@pytest.mark.parametrize("name", list(GRAPH_FREE))
def test_no_autograd_graph_unless_asked(name):
    net, x = _net(), torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    kwargs = (
        {}
        if name.startswith(("probability_flow", "integrate", "euler"))
        else {"generator": torch.Generator().manual_seed(2)}
    )
    plain = GRAPH_FREE[name](net, x, **kwargs)
    assert not plain.requires_grad, f"{name} built an autograd graph by default"
    if "generator" in kwargs:
        kwargs["generator"] = torch.Generator().manual_seed(2)
    asked = GRAPH_FREE[name](net, x, enable_grad=True, **kwargs)
    assert asked.requires_grad and asked.grad_fn is not None
    torch.testing.assert_close(asked.detach(), plain)  # the same numbers either way
    asked.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_no_graph_even_inside_enable_grad():
    """The default holds whatever the caller's grad mode (a notebook cell runs with grad enabled)."""
    net, x = _net(), torch.zeros(3, 2, dtype=torch.float64)
    with torch.enable_grad():
        assert not reverse_sde_sample(VPSDE(), net, x, n_steps=2).samples.requires_grad
        assert not integrate(net, x, torch.tensor([0.0, 1.0], dtype=x.dtype)).trajectory.requires_grad


def test_one_result_type_and_n_steps_means_steps():
    sde, score = VPSDE(), noised_mixture_score(MIX, VPSDE())
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(3))
    assert SamplerOutput is Solution and ODESolution is Solution
    runs = {
        "family": family_sample(sde, score, x, n_steps=7, return_trajectory=True),
        "reverse": reverse_sde_sample(sde, score, x, n_steps=7, return_trajectory=True),
        "pc": predictor_corrector_sample(sde, score, x, n_steps=7, return_trajectory=True),
        "pf_euler": probability_flow_sample(sde, score, x, method="euler", n_steps=7),
    }
    for name, out in runs.items():
        assert out.t_grid.shape == (8,) and out.trajectory.shape == (8, 6, 2), name
        assert out.t_grid[0] == 1.0 and torch.isclose(out.t_grid[-1], torch.tensor(1e-3)), name
        assert torch.equal(out.trajectory[0], x) and torch.equal(out.trajectory[-1], out.samples), name
    assert runs["pf_euler"].nfe == 7 and runs["family"].nfe == 7 and runs["pc"].nfe == 14
    # without return_trajectory: no states kept, the grid still given
    assert family_sample(sde, score, x, n_steps=3).trajectory is None
    # annealed Langevin: trajectory[i] is the state after the steps at level t_grid[i]
    out = annealed_langevin_sample(sde, score, x, n_levels=4, n_steps_per_level=2, return_trajectory=True)
    assert out.t_grid.shape == (4,) and out.trajectory.shape == (4, 6, 2) and out.nfe == 8
    assert torch.equal(out.trajectory[-1], out.samples)
    # integrate: the same type, with its grid
    sol = integrate(lambda y, t: -y, x, torch.linspace(0, 1, 5), method="rk4")
    assert isinstance(sol, Solution) and sol.t_grid.shape == (5,) and torch.equal(sol.samples, sol.trajectory[-1])


def test_the_trajectory_does_not_change_the_samples():
    sde, score = VESDE(), noised_mixture_score(MIX, VESDE())
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(4))
    for fn in (reverse_sde_sample, predictor_corrector_sample):
        a = fn(sde, score, x, n_steps=5, generator=torch.Generator().manual_seed(5))
        b = fn(sde, score, x, n_steps=5, generator=torch.Generator().manual_seed(5), return_trajectory=True)
        assert torch.equal(a.samples, b.samples)
