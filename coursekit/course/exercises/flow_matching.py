"""Checks of the Chapter 5 (flow matching) exercises."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from coursekit.course.exercises import Check, CheckFailed, expect_close, expect_shape, generator, name_mistake, register
from coursekit.density.point_cloud import point_cloud_score
from coursekit.flows.flow_matching import cfm_loss, ideal_velocity, linear_path, ot_coupling

__all__: list[str] = []

CHAPTER = "05_flow_matching"
F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return generator(seed)


def _pair(seed: int, n: int = 8, d: int = 3) -> tuple[Tensor, Tensor]:
    g = _gen(seed)
    return torch.randn(n, d, generator=g, dtype=F64), torch.randn(n, d, generator=g, dtype=F64)


# --- flow_matching.linear_path -------------------------------------------------------------------


def _path_matches(fn: Callable) -> None:
    x_data, x_noise = _pair(50)
    t = torch.rand(8, generator=_gen(51), dtype=F64)
    out = expect_shape(fn(x_data, x_noise, t), (8, 3), "x_t with per-sample t of shape (N,)")
    if torch.allclose(out, linear_path(x_noise, x_data, t)):
        raise CheckFailed(
            "you swapped the ends: in this course the data sit at t = 0 and the noise at t = 1, "
            "so x_t = (1 - t) * x_data + t * x_noise"
        )
    expect_close(out, linear_path(x_data, x_noise, t), "x_t with per-sample t of shape (N,)", atol=1e-12)
    expect_close(fn(x_data, x_noise, 0.3), linear_path(x_data, x_noise, 0.3), "x_t with a scalar t = 0.3", atol=1e-12)


def _path_endpoints(fn: Callable) -> None:
    x_data, x_noise = _pair(52)
    expect_close(fn(x_data, x_noise, torch.zeros(8, dtype=F64)), x_data, "x_t at t = 0 (must be x_data)", atol=1e-12)
    expect_close(fn(x_data, x_noise, torch.ones(8, dtype=F64)), x_noise, "x_t at t = 1 (must be x_noise)", atol=1e-12)


register(
    "flow_matching.linear_path",
    linear_path,
    CHAPTER,
    [
        Check("matches (1 - t) x_data + t x_noise", _path_matches),
        Check("data at t = 0, noise at t = 1", _path_endpoints),
    ],
)

# --- flow_matching.ideal_velocity ----------------------------------------------------------------


def _ideal_matches(fn: Callable) -> None:
    points = 2 * torch.randn(20, 2, generator=_gen(61), dtype=F64)
    x = 1.5 * torch.randn(9, 2, generator=_gen(62), dtype=F64)
    expected = ideal_velocity(points, x, 0.4)
    out = expect_shape(fn(points, x, 0.4), (9, 2), "the velocity at t = 0.4")
    if torch.allclose(out, -expected):
        raise CheckFailed(
            "your velocity has the wrong sign: it is E[x_noise - x_data | x_t = x], which points "
            "from the data towards the noise"
        )
    wrong_var = (x + 0.4 * point_cloud_score(points, x, 0.6, 0.4**0.5)) / 0.6  # E[y | x] with variance t, not t^2
    name_mistake(
        out,
        expected,
        {
            "the weights use the variance t^2 (x_t = (1 - t) y + t z has std t): "
            "logits -||x - (1 - t) y_j||^2 / (2 t^2), not / (2 t)": (x - wrong_var) / 0.4,
            "divide by t: v = (x - E[x_data | x_t = x]) / t": expected * 0.4,
        },
    )
    expect_close(out, expected, "the velocity at t = 0.4", atol=1e-9)
    t = torch.linspace(0.1, 1.0, 9, dtype=F64)
    expect_close(
        fn(points, x, t), ideal_velocity(points, x, t), "the velocity with per-sample t of shape (N,)", atol=1e-9
    )


def _ideal_small_t(fn: Callable) -> None:
    points = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    x = torch.tensor([[10.0, 1.0], [2.9, 0.1]])
    out = fn(points, x, 0.01)
    if not torch.isfinite(out).all():
        raise CheckFailed(
            "at t = 0.01 your velocity is NaN or inf: the weights underflow. Compute them with "
            "torch.softmax of the log-densities -||x - (1 - t) y_j||^2 / (2 t^2)"
        )
    expect_close(out, ideal_velocity(points, x, 0.01), "the velocity at t = 0.01", rtol=1e-4, atol=1e-3)


register(
    "flow_matching.ideal_velocity",
    ideal_velocity,
    CHAPTER,
    [Check("matches the conditional expectation", _ideal_matches), Check("stable for small t", _ideal_small_t)],
)

# --- flow_matching.cfm_loss ----------------------------------------------------------------------


def _field(x: Tensor, t: Tensor) -> Tensor:
    return torch.sin(x) * torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1) - 0.5 * x


def _loss_matches(fn: Callable) -> None:
    x_data, x_noise = _pair(53, n=16)
    t = torch.rand(16, generator=_gen(54), dtype=F64)
    out = fn(_field, x_data, x_noise=x_noise, t=t)
    expected = cfm_loss(_field, x_data, x_noise=x_noise, t=t)
    expect_shape(out, (), "the loss")
    if torch.allclose(out, expected / 3):
        raise CheckFailed(
            "your loss is 1/d times the expected one: sum the squared error over the d coordinates "
            "and average over the batch (F.mse_loss averages over the coordinates too)"
        )
    wrong_sign = ((_field(linear_path(x_data, x_noise, t), t) - (x_data - x_noise)) ** 2).sum(1).mean()
    if torch.allclose(out, wrong_sign):
        raise CheckFailed(
            "the target has the wrong sign: with data at t = 0 and noise at t = 1 the path moves "
            "with velocity x_noise - x_data"
        )
    swapped = ((_field(linear_path(x_noise, x_data, t), t) - (x_noise - x_data)) ** 2).sum(1).mean()
    name_mistake(
        out,
        expected,
        {"the path has t where 1 - t belongs: x_t = (1 - t) * x_data + t * x_noise (data at t = 0)": swapped},
    )
    expect_close(out, expected, "the I-CFM loss with given x_noise and t", atol=1e-10, rtol=1e-10)


def _loss_ot(fn: Callable) -> None:
    x_data, x_noise = _pair(55, n=16, d=2)
    t = torch.rand(16, generator=_gen(56), dtype=F64)
    expected = cfm_loss(_field, x_data, x_noise=x_noise, t=t, coupling="ot")
    out = expect_shape(fn(_field, x_data, x_noise=x_noise, t=t, coupling="ot"), (), "the OT-CFM loss")
    expect_close(
        out,
        expected,
        "the OT-CFM loss (pair x_data with x_noise[ot_coupling(x_data, x_noise)]; t[i] stays with x_data[i])",
        atol=1e-10,
        rtol=1e-10,
    )


def _loss_generator(fn: Callable) -> None:
    x_data = _pair(57, n=32, d=2)[0]
    a = fn(_field, x_data, generator=_gen(1))
    b = fn(_field, x_data, generator=_gen(1))
    c = fn(_field, x_data, generator=_gen(2))
    if not torch.equal(a, b):
        raise CheckFailed(
            "two calls with generators seeded alike give different losses: draw x_noise and t "
            "with torch.randn(..., generator=generator) and torch.rand(..., generator=generator)"
        )
    if torch.equal(a, c):
        raise CheckFailed("the loss does not depend on the generator: draw x_noise and t from it")


register(
    "flow_matching.cfm_loss",
    cfm_loss,
    CHAPTER,
    [
        Check("matches the I-CFM loss for given noise and times", _loss_matches),
        Check("pairs the minibatch by OT when coupling='ot'", _loss_ot),
        Check("draws x_noise and t from the generator", _loss_generator),
    ],
)

# --- flow_matching.ot_coupling -------------------------------------------------------------------


def _total_cost(x_data: Tensor, x_noise: Tensor, perm: Tensor) -> float:
    return float(((x_data - x_noise[perm]) ** 2).sum())


def _coupling_is_permutation(fn: Callable) -> None:
    x_data, x_noise = _pair(58, n=10, d=2)
    perm = expect_shape(fn(x_data, x_noise), (10,), "the permutation")
    if perm.dtype != torch.long or sorted(perm.tolist()) != list(range(10)):
        raise CheckFailed(f"expected a permutation of 0..N-1 as an int64 tensor, got {perm.tolist()} ({perm.dtype})")


def _coupling_optimal(fn: Callable) -> None:
    for seed, n in ((59, 6), (60, 64)):
        x_data, x_noise = _pair(seed, n=n, d=2)
        best = _total_cost(x_data, x_noise, ot_coupling(x_data, x_noise))
        perm = torch.as_tensor(fn(x_data, x_noise)).long()
        cost = _total_cost(x_data, x_noise, perm)
        if abs(cost - best) > 1e-9 * max(1.0, best):
            inverse = torch.argsort(perm)
            hint = (
                " Your permutation is the inverse one: return perm such that x_noise[perm] is paired with x_data."
                if abs(_total_cost(x_data, x_noise, inverse) - best) < 1e-9 * max(1.0, best)
                else " Use scipy.optimize.linear_sum_assignment on the matrix of squared distances."
            )
            raise CheckFailed(
                f"for N = {n} the total squared distance of your pairing is {cost:.6g}, the optimum is "
                f"{best:.6g}.{hint}"
            )


register(
    "flow_matching.ot_coupling",
    ot_coupling,
    CHAPTER,
    [
        Check("returns a permutation", _coupling_is_permutation),
        Check("minimises the total squared distance", _coupling_optimal),
    ],
)
