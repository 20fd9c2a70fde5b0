"""Checks of the Chapter 1 (SDE basics) exercises.

Each check compares the student's function with the library's reference on inputs where the
answer is determined (given Brownian increments or noise), or tests a statistical property with
a tolerance of several standard errors and a fixed seed, so a correct answer always passes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from coursekit.course.exercises import Check, CheckFailed, expect_close, expect_shape, generator, name_mistake, register
from coursekit.sde.brownian import brownian_increments, sample_brownian_motion
from coursekit.sde.langevin import langevin_dynamics
from coursekit.sde.processes import SDE, VPSDE, GeometricBrownianMotion, OrnsteinUhlenbeck
from coursekit.sde.schedules import linear_alpha_sigma
from coursekit.sde.solvers import euler_maruyama

__all__: list[str] = []

CHAPTER = "01_sde_basics"


def _gen(seed: int) -> torch.Generator:
    return generator(seed)


# --- brownian.sample_brownian_motion -------------------------------------------------------------


def _bm_shape(fn: Callable) -> None:
    t_grid = torch.linspace(0.0, 1.0, 11)
    W = expect_shape(fn(t_grid, 7, 3, generator=_gen(0)), (11, 7, 3), "sample_brownian_motion(t_grid, 7, 3)")
    if not torch.all(W[0] == 0):
        raise CheckFailed("a Brownian motion starts at zero: W[0] should be all zeros")


def _bm_reproducible(fn: Callable) -> None:
    t_grid = torch.linspace(0.0, 1.0, 5)
    first, second = fn(t_grid, 4, 2, generator=_gen(1)), fn(t_grid, 4, 2, generator=_gen(1))
    if not torch.equal(first, second):
        raise CheckFailed("two calls with equally seeded generators differ: pass generator=generator to torch.randn")


def _bm_variance(fn: Callable) -> None:
    t_grid = torch.linspace(0.0, 1.0, 9) ** 2  # uneven steps: each increment needs its own sqrt(dt)
    n = 20_000
    W = fn(t_grid, n, 1, generator=_gen(2)).double()  # (T+1, N, 1)
    var = W[1:, :, 0].var(dim=1)
    expected = t_grid[1:].double()
    se = expected * (2.0 / n) ** 0.5  # standard error of a sample variance of a Gaussian
    worst = int(((var - expected).abs() / se).argmax())
    if (var - expected).abs()[worst] > 5 * se[worst]:
        raise CheckFailed(
            f"Var(W_t) should equal t: at t = {expected[worst].item():.3f} the sample variance is "
            f"{var[worst].item():.4f}. Scale each increment by sqrt(t[k+1] - t[k]), not by the step itself"
        )


def _bm_independent(fn: Callable) -> None:
    n = 20_000
    W = fn(torch.linspace(0.0, 1.0, 4), n, 1, generator=_gen(3)).double()[:, :, 0]
    dW = W[1:] - W[:-1]  # (3, N)
    corr = torch.corrcoef(dW)[0, 1].item()
    if abs(corr) > 5 / n**0.5:
        raise CheckFailed(f"successive increments should be independent, their correlation is {corr:.3f}")


register(
    "brownian.sample_brownian_motion",
    sample_brownian_motion,
    CHAPTER,
    [
        Check("shape (T+1, N, d) and W[0] = 0", _bm_shape),
        Check("reproducible from a generator", _bm_reproducible),
        Check("Var(W_t) = t on an uneven grid", _bm_variance),
        Check("independent increments", _bm_independent),
    ],
)

# --- sde_solvers.euler_maruyama ------------------------------------------------------------------


def _em_shape(fn: Callable) -> None:
    x = torch.randn(6, 2, generator=_gen(4))
    out = expect_shape(
        fn(OrnsteinUhlenbeck(), x, torch.linspace(0, 1, 9), generator=_gen(5)), (9, 6, 2), "the trajectory"
    )
    if not torch.equal(out[0], x):
        raise CheckFailed("the trajectory should start with the initial points: trajectory[0] == x")


def _em_variant(
    sde: SDE,
    x: torch.Tensor,
    t_grid: torch.Tensor,
    dW: torch.Tensor,
    *,
    at_end: bool = False,
    scale_dw: bool = False,
) -> torch.Tensor:
    """A mistaken Euler-Maruyama: f and g taken at the end of each step, or dW scaled by sqrt(dt) again."""
    out = [x]
    for k in range(len(t_grid) - 1):
        t, dt = (t_grid[k + 1] if at_end else t_grid[k]), t_grid[k + 1] - t_grid[k]
        noise = sde.diffusion_term(x, t) * dW[k] * (dt.abs().sqrt() if scale_dw else 1.0)
        x = x + sde.drift(x, t) * dt + noise
        out.append(x)
    return torch.stack(out)


def _em_given_path(sde: SDE, forward: bool = True) -> Callable[[Callable], None]:
    def run(fn: Callable) -> None:
        x = torch.rand(5, 2, generator=_gen(6), dtype=torch.float64) + 0.5
        t_grid = torch.tensor([0.0, 0.1, 0.15, 0.4, 0.7, 1.0], dtype=torch.float64)
        if not forward:
            t_grid = t_grid.flip(0)
        dW = brownian_increments(t_grid, 5, 2, generator=_gen(7))
        expected = euler_maruyama(sde, x, t_grid, dW=dW)
        out = fn(sde, x, t_grid, dW=dW)
        name_mistake(
            out,
            expected,
            {
                "the drift and the diffusion are taken at the start of each step, f(x_k, t_k) and g(x_k, t_k); you "
                "evaluate them at the end of the step, t_{k+1}": _em_variant(sde, x, t_grid, dW, at_end=True),
                "dW already has variance |t[k+1] - t[k]|: add g(x_k, t_k) * dW[k], do not multiply it by sqrt(dt) "
                "again": _em_variant(sde, x, t_grid, dW, scale_dw=True),
            },
            atol=1e-9,
        )
        expect_close(out, expected, "the trajectory", atol=1e-9, rtol=1e-9)

    return run


def _em_generator(fn: Callable) -> None:
    x, t_grid = torch.zeros(3, 2), torch.linspace(0, 1, 4)
    if not torch.equal(fn(VPSDE(), x, t_grid, generator=_gen(8)), fn(VPSDE(), x, t_grid, generator=_gen(8))):
        raise CheckFailed("with dW=None, equally seeded generators should give the same trajectory")


register(
    "sde_solvers.euler_maruyama",
    euler_maruyama,
    CHAPTER,
    [
        Check("shape (T+1, N, d), starting at x", _em_shape),
        Check(
            "matches on a given Brownian path (additive noise, uneven steps)",
            _em_given_path(OrnsteinUhlenbeck(0.7, 0.5)),
        ),
        Check(
            "matches on a given Brownian path (multiplicative noise)", _em_given_path(GeometricBrownianMotion(0.5, 0.8))
        ),
        Check("runs backward in time", _em_given_path(VPSDE(), forward=False)),
        Check("reproducible from a generator", _em_generator),
    ],
)

# --- schedules.linear_alpha_sigma ----------------------------------------------------------------


def _schedule_values(fn: Callable) -> None:
    t = torch.cat([torch.tensor([0.0, 1.0]), torch.rand(20, generator=_gen(9))]).double()
    for beta_min, beta_max in ((0.1, 20.0), (1.0, 5.0)):
        alpha, sigma = fn(t, beta_min, beta_max)
        ref_alpha, ref_sigma = linear_alpha_sigma(t, beta_min, beta_max)
        integral = beta_min * t + 0.5 * (beta_max - beta_min) * t**2  # int_0^t beta(s) ds
        name_mistake(
            alpha,
            ref_alpha,
            {
                "alpha_t = exp(-1/2 int_0^t beta(s) ds): the factor 1/2 is missing": torch.exp(-integral),
                "int_0^t beta(s) ds = beta_min t + (beta_max - beta_min) t^2 / 2: "
                "the t^2 term has a factor 1/2": torch.exp(-0.5 * (beta_min * t + (beta_max - beta_min) * t**2)),
            },
            atol=1e-7,
        )
        name_mistake(
            sigma,
            ref_sigma,
            {
                "sigma_t = sqrt(1 - alpha_t^2) (variance preserving), not 1 - alpha_t": 1 - ref_alpha,
                "sigma_t = sqrt(1 - alpha_t^2), not sqrt(1 - alpha_t)": (1 - ref_alpha).sqrt(),
            },
            atol=1e-7,
        )
        expect_close(alpha, ref_alpha, f"alpha_t (beta_min={beta_min}, beta_max={beta_max})", atol=1e-7)
        expect_close(sigma, ref_sigma, f"sigma_t (beta_min={beta_min}, beta_max={beta_max})", atol=1e-7)


def _schedule_vp(fn: Callable) -> None:
    alpha, sigma = fn(torch.linspace(0, 1, 11).double())
    if not torch.allclose(alpha**2 + sigma**2, torch.ones(11, dtype=torch.float64), atol=1e-7):
        raise CheckFailed("the schedule is variance preserving: alpha_t^2 + sigma_t^2 should be 1")


def _schedule_scalar(fn: Callable) -> None:
    alpha, sigma = fn(0.5)
    for value, what in ((alpha, "alpha"), (sigma, "sigma")):
        expect_shape(value if isinstance(value, torch.Tensor) else torch.as_tensor(value), (), f"{what} for a float t")


register(
    "schedules.linear_alpha_sigma",
    linear_alpha_sigma,
    CHAPTER,
    [
        Check("alpha_t and sigma_t match the closed form (including t = 0 and t = 1)", _schedule_values),
        Check("alpha_t^2 + sigma_t^2 = 1", _schedule_vp),
        Check("accepts a float t", _schedule_scalar),
    ],
)

# --- langevin.langevin_dynamics ------------------------------------------------------------------


def _langevin_shape(fn: Callable) -> None:
    x = torch.randn(4, 3, generator=_gen(10))
    chain = expect_shape(fn(lambda y: -y, x, 0.1, 7, generator=_gen(11)), (8, 4, 3), "the chain")
    if not torch.equal(chain[0], x):
        raise CheckFailed("the chain should start with the initial points: chain[0] == x")


def _langevin_variant(
    score: Callable, x: torch.Tensor, noise: torch.Tensor, noise_factor: float, drift: float = 1.0, step: float = 0.05
) -> torch.Tensor:
    """A mistaken chain x_{k+1} = x_k + drift * step * score(x_k) + sqrt(noise_factor * step) z_k."""
    chain = [x]
    for z in noise:
        x = x + drift * step * score(x) + (noise_factor * step) ** 0.5 * z
        chain.append(x)
    return torch.stack(chain)


def _langevin_given_noise(fn: Callable) -> None:
    x = torch.randn(5, 2, generator=_gen(12), dtype=torch.float64)
    noise = torch.randn(6, 5, 2, generator=_gen(13), dtype=torch.float64)

    def score(y: torch.Tensor) -> torch.Tensor:
        return -(y - 1.0) / 0.25 + torch.sin(y)

    expected = langevin_dynamics(score, x, 0.05, 6, noise=noise)
    out = fn(score, x, 0.05, 6, noise=noise)
    name_mistake(
        out,
        expected,
        {
            "the noise term is sqrt(2 * step_size) * z_k, not sqrt(step_size) * z_k": _langevin_variant(
                score, x, noise, 1.0
            ),
            "with the noise sqrt(2 * step_size) * z_k the score term is step_size * score(x_k); you halved "
            "it (the other convention halves the step in both terms)": _langevin_variant(
                score, x, noise, 2.0, drift=0.5
            ),
        },
        atol=1e-9,
    )
    expect_close(out, expected, "the chain (given the noise z_k)", atol=1e-9, rtol=1e-9)


def _langevin_stationary(fn: Callable) -> None:
    mean, std, n = 2.0, 0.5, 4000
    chain = fn(lambda y: -(y - mean) / std**2, torch.zeros(n, 1), 0.01, 400, generator=_gen(14))
    final = chain[-1, :, 0].double()
    # the unadjusted chain's stationary variance is std^2 / (1 - step / (2 std^2)): about 2% above std^2
    if abs(final.mean().item() - mean) > 0.05 or abs(final.std().item() - std) > 0.05:
        raise CheckFailed(
            f"Langevin on N({mean}, {std}^2) should end near that law, got mean {final.mean().item():.3f} "
            f"and std {final.std().item():.3f}. The noise term is sqrt(2 * step_size) * z"
        )


register(
    "langevin.langevin_dynamics",
    langevin_dynamics,
    CHAPTER,
    [
        Check("shape (K+1, N, d), starting at x", _langevin_shape),
        Check("matches the update rule given the noise", _langevin_given_noise),
        Check("samples a Gaussian target", _langevin_stationary),
    ],
)
