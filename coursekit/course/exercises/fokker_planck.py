"""Checks of the Chapter 2 (Fokker-Planck) exercises."""

from __future__ import annotations

from collections.abc import Callable

import torch

from coursekit.course.exercises import Check, CheckFailed, expect_close, expect_shape, generator, name_mistake, register
from coursekit.density.fokker_planck import face_flux
from coursekit.density.point_cloud import point_cloud_score
from coursekit.density.reverse_time import probability_flow_drift, reverse_sde_drift
from coursekit.sde.processes import VESDE, VPSDE, OrnsteinUhlenbeck

__all__: list[str] = []

CHAPTER = "02_fokker_planck"


def _gen(seed: int) -> torch.Generator:
    return generator(seed)


# --- fokker_planck.face_flux ---------------------------------------------------------------------


def _flux_matches(fn: Callable) -> None:
    g = _gen(20)
    p_left, p_right = torch.rand(50, generator=g, dtype=torch.float64), torch.rand(50, generator=g, dtype=torch.float64)
    f = 6 * torch.randn(50, generator=g, dtype=torch.float64)  # cell Peclet numbers from small to large
    for D, dx in ((1.0, 0.1), (0.05, 0.2), (2.0, 0.01)):
        expected = face_flux(p_left, p_right, f, D, dx)
        expect_close(fn(p_left, p_right, f, D, dx), expected, f"the flux (D = {D}, dx = {dx})", atol=1e-10, rtol=1e-8)


def _flux_equilibrium(fn: Callable) -> None:
    f, D, dx = torch.tensor([1.5, -0.7], dtype=torch.float64), 0.5, 0.2
    p_left = torch.ones(2, dtype=torch.float64)
    p_right = torch.exp(f * dx / D)  # the stationary profile p ~ exp(f x / D) of a constant drift
    flux = fn(p_left, p_right, f, D, dx)
    if flux.abs().max() > 1e-10:
        raise CheckFailed(
            f"for p_right / p_left = exp(f dx / D) the drift and the diffusion balance, so the flux must be 0; "
            f"you return {flux.tolist()}. Use b = D / dx * bernoulli(f * dx / D)"
        )


def _flux_upwind(fn: Callable) -> None:
    p_left, p_right = torch.tensor([2.0, 2.0]), torch.tensor([3.0, 3.0])
    f = torch.tensor([1.0, -1.0])
    expected = torch.tensor([2.0, -3.0])  # mass moves with the drift, taken from the upwind cell
    expect_close(fn(p_left, p_right, f, 0.0, 0.1), expected, "the flux without diffusion (D = 0)", atol=1e-6)


register(
    "fokker_planck.face_flux",
    face_flux,
    CHAPTER,
    [
        Check("matches the Scharfetter-Gummel flux", _flux_matches),
        Check("zero flux at the local equilibrium", _flux_equilibrium),
        Check("upwind when D = 0", _flux_upwind),
    ],
)

# --- reverse_time: the two drifts ----------------------------------------------------------------


def _score(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return -x * (1 + torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1)) + torch.sin(x)


def _drift_matches(reference: Callable) -> Callable[[Callable], None]:
    def run(fn: Callable) -> None:
        x = torch.randn(7, 2, generator=_gen(21), dtype=torch.float64)
        for sde, t in (
            (OrnsteinUhlenbeck(0.8, 1.3), torch.tensor(0.4, dtype=torch.float64)),
            (VPSDE(), torch.linspace(0.1, 0.9, 7, dtype=torch.float64)),
            (VESDE(0.01, 5.0), torch.tensor(0.7, dtype=torch.float64)),
        ):
            out = expect_shape(fn(sde, _score, x, t), (7, 2), f"the drift for {type(sde).__name__}")
            expect_close(out, reference(sde, _score, x, t), f"the drift for {type(sde).__name__}", atol=1e-9)

    return run


def _pf_half(fn: Callable) -> None:
    x, t, sde = torch.ones(1, 1, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64), VESDE(0.01, 5.0)
    out = fn(sde, lambda y, s: -y, x, t)  # f = 0, score = -x: the answer is +g^2/2
    if torch.allclose(out, sde.diffusion(t) ** 2 * x):
        raise CheckFailed("the probability-flow drift has the factor 1/2: f - g^2/2 * score (the reverse SDE has g^2)")


def _sde_full(fn: Callable) -> None:
    x, t, sde = torch.ones(1, 1, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64), VESDE(0.01, 5.0)
    out = fn(sde, lambda y, s: -y, x, t)  # f = 0, score = -x: the answer is +g^2 x
    g2 = sde.diffusion(t) ** 2
    if torch.allclose(out, 0.5 * g2 * x):
        raise CheckFailed("the reverse-SDE drift has the full g^2: f - g^2 * score (g^2/2 is the probability-flow ODE)")
    if torch.allclose(out, -g2 * x):
        raise CheckFailed("the sign of the score term is wrong: the reverse-SDE drift is f - g^2 * score")


register(
    "reverse_time.probability_flow_drift",
    probability_flow_drift,
    CHAPTER,
    [
        Check("matches f - g^2/2 score for OU, VP (per-sample t) and VE", _drift_matches(probability_flow_drift)),
        Check("uses g^2/2, not g^2", _pf_half),
    ],
)
register(
    "reverse_time.reverse_sde_drift",
    reverse_sde_drift,
    CHAPTER,
    [
        Check("matches f - g^2 score for OU, VP (per-sample t) and VE", _drift_matches(reverse_sde_drift)),
        Check("uses g^2, not g^2/2, with the minus sign", _sde_full),
    ],
)

# --- point_cloud.point_cloud_score ---------------------------------------------------------------


def _cloud_matches(fn: Callable) -> None:
    points = torch.randn(30, 2, generator=_gen(22), dtype=torch.float64)
    x = 2 * torch.randn(9, 2, generator=_gen(23), dtype=torch.float64)
    out, expected = fn(points, x, 0.8, 0.5), point_cloud_score(points, x, 0.8, 0.5)
    name_mistake(
        out,
        expected,
        {
            "the score has the wrong sign: it is (alpha * E[y | x] - x) / sigma^2": -expected,
            "divide by sigma^2, not sigma: score = (alpha * E[y | x] - x) / sigma^2": expected * 0.5,
            "the components are centred at alpha * y_j, not y_j: scale the points by alpha "
            "(in the weights and in the mean)": point_cloud_score(points, x, 1.0, 0.5),
        },
    )
    expect_close(out, expected, "the score (alpha 0.8, sigma 0.5)", atol=1e-9)
    alpha, sigma = torch.linspace(0.2, 1.0, 9, dtype=torch.float64), torch.linspace(1.0, 0.3, 9, dtype=torch.float64)
    expect_close(
        fn(points, x, alpha, sigma),
        point_cloud_score(points, x, alpha, sigma),
        "the score with per-sample alpha and sigma, shape (N,)",
        atol=1e-9,
    )


def _cloud_small_sigma(fn: Callable) -> None:
    points = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    x = torch.tensor([[10.0, 0.0]])
    out = fn(points, x, 1.0, 0.01)
    if not torch.isfinite(out).all():
        raise CheckFailed(
            "with sigma = 0.01 far from every point your score is NaN or inf: the weights underflow. "
            "Compute them with torch.softmax (or subtract the largest logit before exp)"
        )
    expect_close(out, point_cloud_score(points, x, 1.0, 0.01), "the score with sigma = 0.01", rtol=1e-4)


register(
    "point_cloud.point_cloud_score",
    point_cloud_score,
    CHAPTER,
    [Check("matches the mixture's score", _cloud_matches), Check("stable for small sigma", _cloud_small_sigma)],
)
