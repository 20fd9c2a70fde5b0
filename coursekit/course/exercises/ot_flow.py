"""Checks of the Chapter 4 (OT-Flow) exercises."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from coursekit.course.exercises import Check, CheckFailed, expect_close, expect_shape, generator, name_mistake, register
from coursekit.flows import gaussian_ot, ot_flow

__all__: list[str] = []

CHAPTER = "04_ot_flow"
F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return generator(seed)


def _potential(d: int, layers: int, seed: int, resnet: bool = True) -> ot_flow.Potential:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        phi = ot_flow.Potential(d, width=6, layers=layers, rank=2).double()
        with torch.no_grad():
            for p in phi.parameters():
                p.add_(0.4 * torch.randn_like(p))
            if not resnet:
                phi.w.zero_()
    return phi.requires_grad_(False)


def _points(d: int, seed: int) -> tuple[Tensor, Tensor]:
    g = _gen(seed)
    return torch.randn(5, d, generator=g, dtype=F64), torch.rand(5, generator=g, dtype=F64)


def _autograd_grad(phi: ot_flow.Potential, x: Tensor, t: Tensor) -> Tensor:
    with torch.enable_grad():
        s = torch.cat([x, t[:, None]], 1).requires_grad_(True)
        (g,) = torch.autograd.grad(phi(s[:, :-1], s[:, -1]).sum(), s)
    return g


# --- ot_flow.potential_gradient ----------------------------------------------------------------


def _grad_case(fn: Callable, d: int, layers: int, seed: int, what: str) -> None:
    phi = _potential(d, layers, seed)
    x, t = _points(d, seed + 1)
    out = fn(phi, x, t)
    if isinstance(out, Tensor) and tuple(out.shape) == (5, d):
        raise CheckFailed(
            "return the gradient in s = (x, t), shape (N, d + 1): the last column, dPhi/dt, is needed "
            "for the HJB residual"
        )
    expect_close(expect_shape(out, (5, d + 1), what), _autograd_grad(phi, x, t), what, atol=1e-9)


def _grad_one_layer(fn: Callable) -> None:
    phi = _potential(3, 1, 20, resnet=False)
    x, t = _points(3, 21)
    expect_close(
        expect_shape(fn(phi, x, t), (5, 4), "the gradient"),
        _autograd_grad(phi, x, t),
        "the gradient of the quadratic part 1/2 s^T A^T A s + b^T s + c alone (w = 0)",
        atol=1e-9,
    )
    _grad_case(fn, 3, 1, 22, "the gradient of a one-layer potential (opening layer + quadratic)")


def _grad_resnet(fn: Callable) -> None:
    _grad_case(fn, 4, 2, 23, "the gradient with 2 layers")
    _grad_case(fn, 2, 3, 24, "the gradient with 3 layers")


register(
    "ot_flow.potential_gradient",
    ot_flow.potential_gradient,
    CHAPTER,
    [
        Check("one layer and the quadratic", _grad_one_layer),
        Check("ResNet with 2 and 3 layers", _grad_resnet),
    ],
)

# --- ot_flow.potential_laplacian ---------------------------------------------------------------


def _autograd_laplacian(phi: ot_flow.Potential, x: Tensor, t: Tensor) -> Tensor:
    with torch.enable_grad():
        y = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(phi(y, t).sum(), y, create_graph=True)
        lap = torch.zeros_like(t)  # 0 + a + b + ...: the same sum as the builtin sum(), typed as a Tensor
        for i in range(x.shape[1]):
            lap = lap + torch.autograd.grad(g[:, i].sum(), y, retain_graph=True)[0][:, i]
        return lap


def _lap_case(fn: Callable, d: int, layers: int, seed: int, what: str, resnet: bool = True) -> None:
    phi = _potential(d, layers, seed, resnet)
    x, t = _points(d, seed + 1)
    out = expect_shape(fn(phi, x, t), (5,), what)
    expected = _autograd_laplacian(phi, x, t)
    quad = (phi.A[:, :d] ** 2).sum()
    if torch.allclose(out, expected - quad, atol=1e-8):
        raise CheckFailed("you left out the trace of the quadratic term: add tr(E^T A^T A E) = (A[:, :d] ** 2).sum()")
    if torch.allclose(out, expected - quad + (phi.A**2).sum(), atol=1e-8):
        raise CheckFailed(
            "the trace of the quadratic term runs over the d space coordinates only, not over time: "
            "(A[:, :d] ** 2).sum(), not (A ** 2).sum()"
        )
    expect_close(out, expected, what, atol=1e-8)


def _lap_resnet(fn: Callable) -> None:
    _lap_case(fn, 4, 2, 32, "the Laplacian with 2 layers")
    _lap_case(fn, 5, 3, 33, "the Laplacian with 3 layers")


register(
    "ot_flow.potential_laplacian",
    ot_flow.potential_laplacian,
    CHAPTER,
    [
        Check(
            "the quadratic term alone",
            lambda fn: _lap_case(fn, 3, 1, 30, "the Laplacian of the quadratic (w = 0)", resnet=False),
        ),
        Check("one layer", lambda fn: _lap_case(fn, 3, 1, 31, "the Laplacian of a one-layer potential")),
        Check("ResNet with 2 and 3 layers", _lap_resnet),
    ],
)

# --- ot_flow.augmented_velocity ----------------------------------------------------------------


def _aug_matches(fn: Callable) -> None:
    d = 3
    phi = _potential(d, 2, 40)
    state = torch.randn(6, d + 3, generator=_gen(41), dtype=F64)
    out = expect_shape(fn(phi, state, 0.3), (6, d + 3), "d/dt [x, l, L, R] for a state (6, d + 3)")
    expected = ot_flow.augmented_velocity(phi, state, 0.3)
    if torch.allclose(out[:, :d], -expected[:, :d]):
        raise CheckFailed("the velocity is v = -grad_x Phi (minus the gradient)")
    expect_close(out[:, :d], expected[:, :d], "the velocity -grad_x Phi (first d columns)", atol=1e-10)
    if torch.allclose(out[:, d], -expected[:, d]):
        raise CheckFailed("d/dt l = div v = -Laplacian Phi: you have the opposite sign")
    expect_close(out[:, d], expected[:, d], "d/dt l = -Laplacian Phi (column d)", atol=1e-10)
    if torch.allclose(out[:, d + 1], 2 * expected[:, d + 1]):
        raise CheckFailed("the kinetic energy rate is 1/2 ||grad Phi||^2: you forgot the 1/2")
    expect_close(out[:, d + 1], expected[:, d + 1], "d/dt L = 1/2 ||grad_x Phi||^2 (column d + 1)", atol=1e-10)
    if (out[:, d + 2] < 0).any():
        raise CheckFailed("the HJB rate must be the absolute value |dPhi/dt - 1/2 ||grad_x Phi||^2|")
    expect_close(
        out[:, d + 2], expected[:, d + 2], "d/dt R = |dPhi/dt - 1/2 ||grad_x Phi||^2| (last column)", atol=1e-10
    )


def _aug_ignores_accumulators(fn: Callable) -> None:
    phi = _potential(2, 2, 42)
    state = torch.randn(4, 5, generator=_gen(43), dtype=F64)
    moved = state.clone()
    moved[:, 2:] += 5.0
    expect_close(
        fn(phi, moved, 0.6),
        fn(phi, state, 0.6),
        "the dynamics, which depend only on x = state[:, :d] and t, not on the accumulated l, L, R",
        atol=1e-12,
    )


register(
    "ot_flow.augmented_velocity",
    ot_flow.augmented_velocity,
    CHAPTER,
    [
        Check("matches [-grad Phi, -Lap Phi, |grad Phi|^2 / 2, HJB residual]", _aug_matches),
        Check("depends only on x and t", _aug_ignores_accumulators),
    ],
)

# --- gaussian_ot.ot_map_matrix ---------------------------------------------------------------


def _spd(d: int, seed: int) -> Tensor:
    m = torch.randn(d, d, generator=_gen(seed), dtype=F64)
    return m @ m.T + 0.3 * torch.eye(d, dtype=F64)


def _map_pushes_forward(fn: Callable) -> None:
    cov0, cov1 = _spd(3, 50), _spd(3, 51)
    a = expect_shape(fn(cov0, cov1), (3, 3), "A for d = 3")
    name_mistake(
        a,
        gaussian_ot.ot_map_matrix(cov0, cov1),
        {
            "the middle factor needs its square root: A = S0^{-1/2} (S0^{1/2} S1 S0^{1/2})^{1/2} S0^{-1/2}": cov1,
            "you return the inverse map, from N(m1, Sigma_1) to N(m0, Sigma_0): swap Sigma_0 and Sigma_1": (
                gaussian_ot.ot_map_matrix(cov1, cov0)
            ),
        },
    )
    if not torch.allclose(a @ cov0 @ a.T, cov1, atol=1e-8):
        raise CheckFailed("A Sigma_0 A^T should equal Sigma_1 (the map must push N(m0, Sigma_0) to N(m1, Sigma_1))")
    expect_close(
        torch.as_tensor(fn(torch.tensor([[4.0]], dtype=F64), torch.tensor([[9.0]], dtype=F64))),
        torch.tensor([[1.5]], dtype=F64),
        "A in 1D (sigma_1 / sigma_0)",
        atol=1e-10,
    )


def _map_symmetric(fn: Callable) -> None:
    cov0, cov1 = _spd(3, 52), _spd(3, 53)
    a = fn(cov0, cov1)
    if not torch.allclose(a, a.T, atol=1e-8):
        raise CheckFailed(
            "your A pushes Sigma_0 to Sigma_1 but is not symmetric, so it is not the gradient of a convex "
            "function and not optimal (e.g. Sigma_1^{1/2} Sigma_0^{-1/2} or a Cholesky map): use "
            "A = S0^{-1/2} (S0^{1/2} S1 S0^{1/2})^{1/2} S0^{-1/2} with symmetric square roots"
        )
    expect_close(a, gaussian_ot.ot_map_matrix(cov0, cov1), "the optimal A", atol=1e-8)


register(
    "gaussian_ot.ot_map_matrix",
    gaussian_ot.ot_map_matrix,
    CHAPTER,
    [
        Check("pushes Sigma_0 to Sigma_1", _map_pushes_forward),
        Check("is the symmetric (optimal) map", _map_symmetric),
    ],
)
