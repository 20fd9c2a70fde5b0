"""Schedules: closed forms, derivatives equal to autograd, VP identity, bad names."""

import math

import pytest
import torch

from coursekit.sde import schedules
from coursekit.sde.schedules import (
    CosineSchedule,
    GeometricVESchedule,
    LinearBetaSchedule,
    get_schedule,
    linear_alpha_sigma,
)

ALL = [LinearBetaSchedule(), LinearBetaSchedule(1.0, 5.0), CosineSchedule(), GeometricVESchedule(0.01, 10.0)]


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: repr(s))
def test_derivatives_equal_autograd(schedule):
    t = torch.linspace(0.02, 0.97, 25, dtype=torch.float64, requires_grad=True)
    values = schedule(t)
    if values.alpha.requires_grad:
        (d_alpha,) = torch.autograd.grad(values.alpha.sum(), t, retain_graph=True)
    else:  # a constant alpha (VE) does not depend on t at all
        d_alpha = torch.zeros_like(t)
    (d_sigma,) = torch.autograd.grad(values.sigma.sum(), t)
    torch.testing.assert_close(values.d_alpha.detach(), d_alpha.detach(), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(values.d_sigma.detach(), d_sigma, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("schedule", ALL[:3], ids=lambda s: repr(s))
def test_vp_schedules_preserve_variance_and_beta(schedule):
    t = torch.linspace(0.0, 0.95, 20, dtype=torch.float64)
    values = schedule(t)
    torch.testing.assert_close(values.alpha**2 + values.sigma**2, torch.ones_like(t))
    # beta(t) = -2 d/dt log(alpha_t)
    inner = t[1:]
    torch.testing.assert_close(schedule.beta(inner), -2 * schedule(inner).d_alpha / schedule(inner).alpha)


def test_linear_closed_form_endpoints():
    alpha, sigma = linear_alpha_sigma(torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert alpha[0] == 1 and sigma[0] == 0
    assert math.isclose(alpha[1].item(), math.exp(-0.5 * (0.1 + 0.5 * 19.9)), rel_tol=1e-12)


def test_linear_alpha_is_product_of_chain_factors():
    """alpha_t is the limit of prod_k sqrt(1 - beta(t_k) dt) of the DDPM chain."""
    K = 200_000
    t = torch.linspace(0, 1, K + 1, dtype=torch.float64)
    midpoints = 0.5 * (t[1:] + t[:-1])
    schedule = LinearBetaSchedule()
    chain_alpha = torch.sqrt(1 - schedule.beta(midpoints) / K).prod()
    assert chain_alpha.item() == pytest.approx(schedule(1.0).alpha.item(), rel=1e-3)


def test_cosine_reaches_zero_signal():
    assert CosineSchedule()(1.0).alpha.item() == 0.0  # not cos(pi/2) = -4e-8 of float32
    assert (CosineSchedule()(torch.linspace(0, 1, 101)).alpha >= 0).all()
    assert CosineSchedule()(0.0).alpha.item() == pytest.approx(1.0)


def test_ve_sigma():
    s = GeometricVESchedule(0.01, 10.0)
    assert s(0.0).sigma.item() == 0
    assert s(1.0).sigma.item() == pytest.approx(math.sqrt(100 - 1e-4))
    assert torch.all(s(torch.rand(5)).alpha == 1)


def test_get_schedule_and_errors():
    assert isinstance(get_schedule("cosine"), CosineSchedule)
    assert get_schedule("linear", beta_min=1.0, beta_max=2.0).beta_max == 2.0
    with pytest.raises(ValueError, match="unknown schedule 'cosin'.*Did you mean 'cosine'"):
        get_schedule("cosin")
    with pytest.raises(ValueError, match="beta_max"):
        LinearBetaSchedule(1.0, 0.5)
    with pytest.raises(ValueError, match="beta_min"):
        LinearBetaSchedule(-1.0, 0.5)
    with pytest.raises(ValueError, match="shape"):
        LinearBetaSchedule()(torch.zeros(2, 2))


def test_dtype_and_device_follow_t():
    values = LinearBetaSchedule()(torch.tensor([0.5], dtype=torch.float64))
    assert values.alpha.dtype == torch.float64
    assert schedules.CosineSchedule()(0.3).alpha.ndim == 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("schedule", ALL, ids=lambda s: repr(s))
def test_every_schedule_is_finite_on_the_closed_interval(schedule, dtype):
    """Samplers start at t = 1 and Chapter 1 plots t = 0: every coefficient is finite there (issue 14)."""
    t = torch.linspace(0, 1, 1001, dtype=dtype)
    values = schedule(t)
    for name in ("alpha", "sigma", "d_alpha"):
        assert torch.isfinite(getattr(values, name)).all(), name
    assert torch.isfinite(values.d_sigma[1:]).all()  # sigma_t ~ sqrt(t): d_sigma is +inf at t = 0 only
    assert (values.alpha >= 0).all() and (values.sigma >= 0).all()
    if hasattr(schedule, "beta"):
        beta = schedule.beta(t)
        assert torch.isfinite(beta).all() and (beta > 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_cosine_beta_is_the_closed_form_below_its_clip(dtype):
    schedule = CosineSchedule()
    t = torch.linspace(0, 1, 2001, dtype=dtype)
    exact = math.pi / (1 + schedule.s) * torch.tan(0.5 * math.pi * (t.double() + schedule.s) / (1 + schedule.s))
    beta = schedule.beta(t).double()
    below = exact < 0.99 * schedule.beta_max  # t < 0.98 for beta_max = 100
    assert below.sum() > 1900
    torch.testing.assert_close(beta[below], exact[below], rtol=1e-4 if dtype == torch.float32 else 1e-12, atol=0)
    torch.testing.assert_close(beta[~below], exact[~below].clamp(0, schedule.beta_max), rtol=2e-2, atol=0)
    # in float32 the angle at t = 1 rounds past pi/2, where the unclipped tangent is negative (NaN after sqrt)
    assert float(schedule.beta(torch.tensor(1.0))) == pytest.approx(schedule.beta_max, rel=1e-4)
    assert float(CosineSchedule(beta_max=20.0).beta(1.0)) == pytest.approx(20.0, rel=1e-4)
    with pytest.raises(ValueError, match="beta_max"):
        CosineSchedule(beta_max=0.0)
