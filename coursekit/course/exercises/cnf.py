"""Checks of the Chapter 3 (continuous normalizing flows) exercises."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from coursekit.course.exercises import Check, CheckFailed, expect_close, expect_shape, generator, probe, register
from coursekit.flows import cnf
from coursekit.flows.divergence import exact_divergence, hutchinson_divergence, probe_estimate, sample_probes

__all__: list[str] = []

CHAPTER = "03_cnf"
F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return generator(seed)


def _field(x: Tensor) -> Tensor:
    """A nonlinear field (N, 3) -> (N, 3) whose Jacobian is full and not symmetric."""
    a = torch.tensor([[0.5, -1.0, 0.2], [0.3, 0.1, -0.7], [1.2, 0.4, -0.2]], dtype=x.dtype)
    return torch.tanh(x @ a.T) + 0.3 * x * x.roll(1, dims=1)


def _velocity(x: Tensor, t: Tensor) -> Tensor:
    return _field(x) * (1 + torch.as_tensor(t, dtype=x.dtype)) - 0.5 * x


# --- divergence.exact_divergence ----------------------------------------------------------------


def _exact_matches(fn: Callable) -> None:
    x = torch.randn(6, 3, generator=_gen(1), dtype=F64)
    out = expect_shape(fn(_field, x), (6,), "the divergence of 6 points in 3D")
    jac_sum = torch.stack([torch.autograd.functional.jacobian(_field, r[None])[0, :, 0].sum() for r in x])
    if torch.allclose(out.detach(), jac_sum):
        raise CheckFailed(
            "you summed every entry of the Jacobian (the gradient of f(x).sum()), not only the diagonal: "
            "take the i-th component of the gradient of f(x)[:, i].sum() for each i"
        )
    expect_close(out, exact_divergence(_field, x), "the divergence", atol=1e-10)


def _grad_of(out: object, scale: Tensor, part: Callable = lambda out: out) -> Tensor | None:
    """D part(out).sum() / d scale, or None when ``out`` is not a tensor in the graph of ``scale``."""
    if not isinstance(out, Tensor) or not out.requires_grad:
        return None
    return torch.autograd.grad(part(out).sum(), scale)[0]


def _exact_create_graph(fn: Callable) -> None:
    scale = torch.tensor(2.0, dtype=F64, requires_grad=True)
    x = torch.randn(4, 3, generator=_gen(2), dtype=F64)
    grad = probe(fn, lambda: _grad_of(fn(lambda y: scale * _field(y), x, create_graph=True), scale))
    if not isinstance(grad, Tensor):  # None: the output is not in the graph of scale
        raise CheckFailed(
            "with create_graph=True the result must stay in the autograd graph (pass create_graph to "
            "torch.autograd.grad), so that a loss built from it can be trained"
        )
    expect_close(grad, exact_divergence(_field, x).sum(), "d/d(scale) of the divergence of scale * f", atol=1e-10)


register(
    "divergence.exact_divergence",
    exact_divergence,
    CHAPTER,
    [
        Check("equals the trace of the Jacobian", _exact_matches),
        Check("keeps the graph with create_graph=True", _exact_create_graph),
    ],
)

# --- divergence.hutchinson_divergence -----------------------------------------------------------


def _hutch_probes(fn: Callable) -> None:
    x = torch.randn(5, 3, generator=_gen(3), dtype=F64)
    probes = sample_probes((4, 5, 3), generator=_gen(4), dtype=F64)
    out = expect_shape(fn(_field, x, probes=probes), (5,), "the estimate with 4 given probes")
    with torch.enable_grad():
        y = x.clone().requires_grad_(True)
        expected = probe_estimate(_field(y), y, probes)
    if torch.allclose(out, 4 * expected):
        raise CheckFailed("you summed over the K probes: average them (divide by K)")
    expect_close(out, expected, "the estimate (1/K) sum_k z_k^T J z_k with given probes", atol=1e-10)


def _hutch_rademacher(fn: Callable) -> None:
    x = torch.randn(50, 3, generator=_gen(5), dtype=F64)
    scales = torch.tensor([0.5, -2.0, 3.0], dtype=F64)
    out = expect_shape(fn(lambda y: y * scales, x, generator=_gen(6)), (50,), "the estimate with one probe")
    if not torch.allclose(out, scales.sum().expand(50)):
        raise CheckFailed(
            "for a diagonal Jacobian, Rademacher probes (entries +-1, the default) give the exact trace: "
            "draw them with sample_probes or 2 * torch.randint(0, 2, ...) - 1, not torch.randn"
        )


def _hutch_generator(fn: Callable) -> None:
    x = torch.randn(8, 3, generator=_gen(7), dtype=F64)
    a, b = fn(_field, x, generator=_gen(1)), fn(_field, x, generator=_gen(1))
    if not torch.equal(a, b):
        raise CheckFailed("two calls with generators seeded alike differ: draw the probes from `generator`")
    if torch.equal(a, fn(_field, x, generator=_gen(2))):
        raise CheckFailed("the estimate does not depend on the generator: draw the probes from it")


def _hutch_unbiased(fn: Callable) -> None:
    k = 2000
    x = torch.randn(1, 3, generator=_gen(8), dtype=F64)
    single = fn(_field, x.expand(k, 3), distribution="gaussian", generator=_gen(9))
    exact = float(exact_divergence(_field, x))
    se = float(single.std()) / math.sqrt(k)
    if abs(float(single.mean()) - exact) > 4 * se:
        raise CheckFailed(
            f"the mean of {k} Gaussian-probe estimates is {float(single.mean()):.4f}, the trace is "
            f"{exact:.4f} (standard error {se:.4f}): the estimator is biased"
        )


register(
    "divergence.hutchinson_divergence",
    hutchinson_divergence,
    CHAPTER,
    [
        Check("averages z^T J z over given probes", _hutch_probes),
        Check("uses Rademacher probes by default", _hutch_rademacher),
        Check("draws the probes from the generator", _hutch_generator),
        Check("is unbiased with Gaussian probes", _hutch_unbiased),
    ],
)

# --- cnf.augmented_velocity ---------------------------------------------------------------------


def _aug_matches(fn: Callable) -> None:
    state = torch.randn(7, 4, generator=_gen(10), dtype=F64)
    out = expect_shape(fn(_velocity, state, 0.3), (7, 4), "[v, div v] for a state (7, 3 + 1)")
    expected = cnf.augmented_velocity(_velocity, state, 0.3)
    expect_close(out[:, :3], expected[:, :3], "the first d columns (the velocity)", atol=1e-10)
    if torch.allclose(out[:, 3], -expected[:, 3]):
        raise CheckFailed(
            "the last column has the wrong sign: integrating from the data (t = 0) to the noise, "
            "d/dt Delta = +div v, and log p(x) = log N(x_1) + Delta_1"
        )
    expect_close(out[:, 3], expected[:, 3], "the last column (the divergence of v at the first d columns)", atol=1e-10)


def _aug_graph(fn: Callable) -> None:
    scale = torch.tensor(1.5, dtype=F64, requires_grad=True)
    state = torch.randn(3, 4, generator=_gen(11), dtype=F64)
    grad = probe(
        fn,
        lambda: _grad_of(
            fn(lambda x, t: scale * _velocity(x, t), state, 0.5, create_graph=True), scale, lambda out: out[:, 3]
        ),
    )
    if not isinstance(grad, Tensor):  # None: the output is not in the graph of scale
        raise CheckFailed("with create_graph=True the output must depend on the velocity's parameters (training)")
    expect_close(
        grad, cnf.augmented_velocity(_velocity, state, 0.5)[:, 3].sum(), "d/d(scale) of the divergence", atol=1e-10
    )


def _aug_probes(fn: Callable) -> None:
    state = torch.randn(5, 4, generator=_gen(12), dtype=F64)
    probes = sample_probes((2, 5, 3), generator=_gen(13), dtype=F64)
    expect_close(
        fn(_velocity, state, 0.2, probes=probes),
        cnf.augmented_velocity(_velocity, state, 0.2, probes=probes),
        "[v, Hutchinson estimate] with given probes (use probe_estimate when probes is not None)",
        atol=1e-10,
    )


register(
    "cnf.augmented_velocity",
    cnf.augmented_velocity,
    CHAPTER,
    [
        Check("returns [v, div v] with the right sign", _aug_matches),
        Check("keeps the graph with create_graph=True", _aug_graph),
        Check("uses Hutchinson probes when given", _aug_probes),
    ],
)

# --- cnf.log_likelihood ---------------------------------------------------------------------------


def _ll_affine(fn: Callable) -> None:
    a = torch.tensor([[-0.3, 0.8], [-0.5, 0.4]], dtype=F64)
    b = torch.tensor([0.2, -0.1], dtype=F64)
    x = torch.randn(6, 2, generator=_gen(14), dtype=F64)
    res = fn(lambda y, t: y @ a.T + b, x, method="rk4", n_steps=32)
    log_prob = expect_shape(getattr(res, "log_prob", None), (6,), "result.log_prob")
    expm = torch.linalg.matrix_exp(a)
    x1 = x @ expm.T + torch.linalg.solve(a, (expm - torch.eye(2, dtype=F64)) @ b)
    prior = -0.5 * (x1**2).sum(1) - math.log(2 * math.pi)
    if torch.allclose(log_prob, prior - torch.trace(a), atol=1e-6):
        raise CheckFailed("you subtracted the integrated divergence: log p(x) = log N(x_1; 0, I) + int_0^1 div v dt")
    if torch.allclose(log_prob, torch.trace(a).expand(6), atol=1e-6):
        raise CheckFailed("you forgot the prior term log N(x_1; 0, I) at the end point x_1")
    expect_close(
        log_prob,
        prior + torch.trace(a),
        "log p(x) of the affine flow v = A x + b (closed form log N(x_1) + tr A)",
        atol=1e-6,
    )
    expect_close(res.x_noise, x1, "result.x_noise (the end points x_1)", atol=1e-6)


def _ll_settings(fn: Callable) -> None:
    x = torch.randn(5, 3, generator=_gen(15), dtype=F64)
    out = fn(_velocity, x, method="rk4", n_steps=3)
    expected = cnf.log_likelihood(_velocity, x, method="rk4", n_steps=3)
    expect_close(
        out.log_prob,
        expected.log_prob,
        "log p with method='rk4', n_steps=3 (integrate the state (N, d+1) "
        "with ode.integrate on torch.linspace(0, 1, n_steps + 1))",
        atol=1e-9,
    )


def _ll_graph(fn: Callable) -> None:
    scale = torch.tensor(0.7, dtype=F64, requires_grad=True)
    x = torch.randn(4, 3, generator=_gen(16), dtype=F64)
    out = fn(lambda y, t: scale * _velocity(y, t), x, n_steps=2, create_graph=True)
    if not isinstance(getattr(out, "log_prob", None), Tensor) or not out.log_prob.requires_grad:
        raise CheckFailed(
            "with create_graph=True, log_prob must be differentiable in the velocity's parameters "
            "(a solve builds no graph unless asked: pass enable_grad=create_graph to integrate)"
        )


register(
    "cnf.log_likelihood",
    cnf.log_likelihood,
    CHAPTER,
    [
        Check("matches the affine closed form", _ll_affine),
        Check("follows method and n_steps", _ll_settings),
        Check("is differentiable with create_graph=True", _ll_graph),
    ],
)
