"""Checks of the Chapter 6 (score-based diffusion) exercises."""

from __future__ import annotations

from collections.abc import Callable

import torch

from coursekit.course.exercises import Check, CheckFailed, expect_close, expect_shape, generator, name_mistake, register
from coursekit.density.reverse_time import probability_flow_drift, reverse_sde_drift
from coursekit.diffusion.dsm import dsm_loss
from coursekit.diffusion.parameterizations import denoiser_from_score
from coursekit.diffusion.samplers import family_drift, reverse_sde_step
from coursekit.sde.processes import VESDE, VPSDE
from coursekit.sde.schedules import CosineSchedule

__all__: list[str] = []

CHAPTER = "06_score_diffusion"
F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return generator(seed)


def _score(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return -x * (1 + torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1)) + torch.sin(x)


def _model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x) * torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1) - 0.3 * x


# --- parameterizations.denoiser_from_score -------------------------------------------------------


def _tweedie_matches(fn: Callable) -> None:
    g = _gen(64)
    x, s = torch.randn(9, 2, generator=g, dtype=F64), torch.randn(9, 2, generator=g, dtype=F64)
    alpha, sigma = torch.linspace(0.2, 1.0, 9, dtype=F64), torch.linspace(0.9, 0.1, 9, dtype=F64)
    out, expected = fn(x, s, alpha, sigma), denoiser_from_score(x, s, alpha, sigma)
    name_mistake(
        out,
        expected,
        {
            "Tweedie's formula has sigma^2, not sigma: D = (x + sigma^2 * score) / alpha": denoiser_from_score(
                x, s, alpha, sigma.sqrt()
            ),
            "the score term has a plus sign: D = (x + sigma^2 * score) / alpha": denoiser_from_score(
                x, -s, alpha, sigma
            ),
            "divide by alpha, do not multiply: D = (x + sigma^2 * score) / alpha": denoiser_from_score(
                x, s, 1 / alpha, sigma
            ),
        },
    )
    expect_close(out, expected, "D with per-sample alpha, sigma", atol=1e-10)
    expect_close(fn(x, s, 0.6, 0.8), denoiser_from_score(x, s, 0.6, 0.8), "D with scalar alpha, sigma", atol=1e-10)


def _tweedie_gaussian(fn: Callable) -> None:
    # data N(m, I) noised with alpha, sigma: E[x_data | x_t] = m + alpha (x_t - alpha m) / (alpha^2 + sigma^2)
    m, alpha, sigma = torch.tensor([[2.0, -1.0]], dtype=F64), 0.6, 0.8
    x = torch.randn(5, 2, generator=_gen(65), dtype=F64)
    score = -(x - alpha * m) / (alpha**2 + sigma**2)
    expected = m + alpha * (x - alpha * m) / (alpha**2 + sigma**2)
    out = fn(x, score, alpha, sigma)
    if (
        isinstance(out, torch.Tensor)
        and out.shape == expected.shape
        and torch.allclose(out, (x + sigma * score) / alpha)
    ):
        raise CheckFailed("Tweedie's formula has sigma^2: D = (x + sigma^2 * score) / alpha")
    expect_close(out, expected, "E[x_data | x_t] for Gaussian data", atol=1e-10)


register(
    "parameterizations.denoiser_from_score",
    denoiser_from_score,
    CHAPTER,
    [
        Check("matches (x + sigma^2 score) / alpha", _tweedie_matches),
        Check("equals E[x_data | x_t] for Gaussian data", _tweedie_gaussian),
    ],
)

# --- diffusion.dsm_loss --------------------------------------------------------------------------


def _loss_noise(fn: Callable) -> None:
    g = _gen(60)
    x, noise = torch.randn(16, 2, generator=g, dtype=F64), torch.randn(16, 2, generator=g, dtype=F64)
    t = 0.01 + 0.98 * torch.rand(16, generator=g, dtype=F64)
    for sde in (VPSDE(), VESDE(0.01, 5.0)):
        out = fn(_model, x, sde, t=t, noise=noise)
        expect_shape(out, (), f"the loss for {type(sde).__name__}")
        alpha, sigma = (c[:, None] for c in sde.marginal_coefficients(t))
        eps_hat = _model(alpha * x + sigma * noise, t)
        name_mistake(
            out,
            dsm_loss(_model, x, sde, t=t, noise=noise),
            {
                "sum the squared error over the dimensions, then average over the points "
                "(.mean() alone also divides by d)": ((eps_hat - noise) ** 2).mean(),
                "the noised point is x_t = alpha_t x + sigma_t eps, not sigma_t^2 eps": (
                    (_model(alpha * x + sigma**2 * noise, t) - noise) ** 2
                )
                .sum(1)
                .mean(),
                "the target of the noise prediction is +eps (the noise that was added), not -eps": (
                    (eps_hat + noise) ** 2
                )
                .sum(1)
                .mean(),
            },
        )
        expect_close(
            out,
            dsm_loss(_model, x, sde, t=t, noise=noise),
            f"the noise-prediction loss ({type(sde).__name__})",
            atol=1e-9,
        )


def _loss_score(fn: Callable) -> None:
    g = _gen(61)
    x, noise = torch.randn(16, 3, generator=g, dtype=F64), torch.randn(16, 3, generator=g, dtype=F64)
    t = 0.01 + 0.98 * torch.rand(16, generator=g, dtype=F64)
    sde = VPSDE(CosineSchedule())
    out = fn(_model, x, sde, parameterization="score", t=t, noise=noise)
    expected = dsm_loss(_model, x, sde, parameterization="score", t=t, noise=noise)
    expect_close(out, expected, "the score loss with weighting sigma_t^2 (regress sigma * s on -noise)", atol=1e-9)


def _loss_random(fn: Callable) -> None:
    x, sde = torch.randn(64, 2, generator=_gen(62), dtype=F64), VPSDE()
    a, b = fn(_model, x, sde, generator=_gen(63)), fn(_model, x, sde, generator=_gen(63))
    if not torch.equal(a, b):
        raise CheckFailed("draw t and the noise from `generator` (torch.rand(..., generator=generator))")
    expect_close(a, dsm_loss(_model, x, sde, generator=_gen(63)), "the loss with random t and noise", atol=1e-9)


register(
    "diffusion.dsm_loss",
    dsm_loss,
    CHAPTER,
    [
        Check("noise prediction: mean over points of ||eps_hat - eps||^2", _loss_noise),
        Check("score parameterization with weight sigma_t^2", _loss_score),
        Check("t ~ U[t_min, 1] then noise, from the generator", _loss_random),
    ],
)

# --- samplers.reverse_sde_step -------------------------------------------------------------------


def _step_matches(fn: Callable) -> None:
    gen = _gen(66)
    x, z = torch.randn(7, 2, generator=gen, dtype=F64), torch.randn(7, 2, generator=gen, dtype=F64)
    for sde, t, dt in (
        (VPSDE(), torch.tensor(0.6, dtype=F64), 0.01),
        (VESDE(0.01, 5.0), torch.tensor(0.3, dtype=F64), 0.05),
    ):
        out = expect_shape(fn(sde, _score, x, t, dt, noise=z), (7, 2), f"the step for {type(sde).__name__}")
        expected = reverse_sde_step(sde, _score, x, t, dt, noise=z)
        drift_term = reverse_sde_drift(sde, _score, x, t) * dt
        noise_term = expected - x + drift_term
        if torch.allclose(out, x + drift_term + noise_term):  # stepped forward in time
            raise CheckFailed("time runs backward: x_{t - dt} = x - [f - g^2 s] dt + g sqrt(dt) z")
        f, g = sde.drift(x, t), sde.diffusion(t)
        name_mistake(
            out,
            expected,
            {
                "the sign of the score term is flipped: the reverse drift is f - g^2 s, so "
                "x_{t - dt} = x - [f - g^2 s] dt + g sqrt(dt) z (the score pulls the points towards the data)": x
                - (f + g**2 * _score(x, t)) * dt
                + noise_term,
                "the noise of a step is g sqrt(dt) z, not g dt z": x - drift_term + noise_term * dt**0.5,
                "the score is multiplied by g^2, not g: x - [f - g^2 s] dt + g sqrt(dt) z": x
                - (f - g * _score(x, t)) * dt
                + noise_term,
            },
            atol=1e-10,
        )
        expect_close(out, expected, f"the step for {type(sde).__name__} (t = {float(t)}, dt = {dt})", atol=1e-10)


def _step_noise_scale(fn: Callable) -> None:
    x, sde, t = torch.zeros(4000, 1, dtype=F64), VESDE(0.01, 5.0), torch.tensor(0.5, dtype=F64)
    out = fn(sde, lambda y, s: torch.zeros_like(y), x, t, 0.04, generator=_gen(67))
    expected_std = float(sde.diffusion(t)) * 0.2
    std = float(out.std())
    if abs(std / expected_std - 1) > 0.08:
        raise CheckFailed(
            f"with zero drift the step's noise should have std g(t) sqrt(dt) = {expected_std:.3f}, "
            f"got {std:.3f}; draw z from `generator` when noise is None"
        )


register(
    "samplers.reverse_sde_step",
    reverse_sde_step,
    CHAPTER,
    [
        Check("matches x - [f - g^2 s] dt + g sqrt(dt) z", _step_matches),
        Check("draws its own noise with std g sqrt(dt)", _step_noise_scale),
    ],
)

# --- samplers.family_drift -----------------------------------------------------------------------


def _family_ends(fn: Callable) -> None:
    x = torch.randn(6, 2, generator=_gen(68), dtype=F64)
    t = torch.linspace(0.1, 0.9, 6, dtype=F64)
    sde = VPSDE()
    expect_close(
        fn(sde, _score, x, t, 0.0),
        probability_flow_drift(sde, _score, x, t),
        "lam = 0 (the probability-flow drift)",
        atol=1e-10,
    )
    expect_close(
        fn(sde, _score, x, t, 1.0), reverse_sde_drift(sde, _score, x, t), "lam = 1 (the reverse-SDE drift)", atol=1e-10
    )


def _family_middle(fn: Callable) -> None:
    x = torch.randn(6, 2, generator=_gen(69), dtype=F64)
    for sde, lam in ((VPSDE(), 0.5), (VESDE(0.01, 5.0), 2.0)):
        t = torch.tensor(0.4, dtype=F64)
        expect_close(
            fn(sde, _score, x, t, lam),
            family_drift(sde, _score, x, t, lam),
            f"lam = {lam} for {type(sde).__name__}: f - (1 + lam^2)/2 g^2 s",
            atol=1e-10,
        )


register(
    "samplers.family_drift",
    family_drift,
    CHAPTER,
    [
        Check("lam = 0 and lam = 1 give the probability-flow and reverse-SDE drifts", _family_ends),
        Check("matches f - (1 + lam^2)/2 g^2 s for other lam", _family_middle),
    ],
)
