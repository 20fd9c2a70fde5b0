"""On a CUDA device the library computes what it computes on the CPU (marker ``gpu``; skipped without CUDA).

The same inputs (the same Brownian increments, the same noise, the same weights) give the same
results on both devices, to the rounding of the device's arithmetic: 1e-10 in float64, 1e-5 in
float32. Random data drawn on a CUDA device with a CPU generator equals the CPU draw, so a seed
means the same thing everywhere. Run them with ``make gpu`` or ``python -m pytest -m gpu tests/test_gpu.py``.
"""

from __future__ import annotations

import copy

import pytest
import torch

from coursekit import sde
from coursekit.course.notebook import default_device, on_gpu
from coursekit.data import toys
from coursekit.density import mixtures
from coursekit.flows import ode
from coursekit.nn import networks
from coursekit.sde import langevin, schedules, solvers
from coursekit.sde.brownian import brownian_increments

pytestmark = pytest.mark.gpu

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


@pytest.fixture
def cuda() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device; torch sees none here")
    return torch.device("cuda")


def _same(on_cpu: torch.Tensor, on_cuda: torch.Tensor, cuda: torch.device, tol: float | None = None) -> None:
    assert on_cuda.device.type == cuda.type, f"the result is on {on_cuda.device}, not on the inputs' device"
    assert on_cuda.dtype == on_cpu.dtype
    tol = TOL[on_cpu.dtype] if tol is None else tol
    torch.testing.assert_close(on_cuda.cpu(), on_cpu, rtol=tol, atol=tol)


def test_the_notebooks_choose_the_gpu(cuda, monkeypatch):
    monkeypatch.delenv("COURSEKIT_DEVICE", raising=False)
    assert default_device().type == "cuda" and on_gpu()
    monkeypatch.setenv("COURSEKIT_DEVICE", "cpu")
    assert default_device().type == "cpu" and not on_gpu()


@pytest.mark.parametrize(
    "process",
    [sde.VPSDE(), sde.VESDE(0.01, 10.0), sde.OrnsteinUhlenbeck(2.0, 1.0), sde.GeometricBrownianMotion(2.0, 1.0)],
    ids=["VP", "VE", "OU", "GBM"],
)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_euler_maruyama_on_the_same_brownian_path(cuda, process, dtype):
    gen = torch.Generator().manual_seed(0)
    t_grid = torch.linspace(0, 1, 101, dtype=dtype)
    x = 1.0 + torch.randn(500, 2, generator=gen, dtype=dtype)
    dW = brownian_increments(t_grid, 500, 2, generator=gen)  # (100, 500, 2)
    on_cpu = solvers.euler_maruyama(process, x, t_grid, dW=dW)
    on_cuda = solvers.euler_maruyama(process, x.to(cuda), t_grid.to(cuda), dW=dW.to(cuda))
    tol = 1e-8 if dtype == torch.float64 else 1e-4  # 100 steps accumulate the rounding (GBM multiplies it)
    _same(on_cpu, on_cuda, cuda, tol)


def test_brownian_increments_from_a_cpu_generator_on_cuda(cuda):
    t_grid = torch.linspace(0, 1, 51, dtype=torch.float64)
    on_cpu = brownian_increments(t_grid, 100, 3, generator=torch.Generator().manual_seed(1))
    on_cuda = brownian_increments(t_grid.to(cuda), 100, 3, generator=torch.Generator().manual_seed(1))
    _same(on_cpu, on_cuda, cuda)


def test_langevin_with_the_same_noise(cuda):
    mixture = toys.mixture("8gaussians", dtype=torch.float64)
    gen = torch.Generator().manual_seed(2)
    x = 3.0 * torch.randn(400, 2, generator=gen, dtype=torch.float64)
    noise = torch.randn(50, 400, 2, generator=gen, dtype=torch.float64)
    on_cpu = langevin.langevin_dynamics(mixture.score, x, 0.01, 50, noise=noise)
    mixture_cuda = mixture.to(cuda)
    on_cuda = langevin.langevin_dynamics(mixture_cuda.score, x.to(cuda), 0.01, 50, noise=noise.to(cuda))
    _same(on_cpu, on_cuda, cuda, 1e-8)


@pytest.mark.parametrize(
    "schedule",
    [schedules.LinearBetaSchedule(), schedules.CosineSchedule(), schedules.GeometricVESchedule()],
    ids=["linear", "cosine", "geometric-VE"],
)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_schedules(cuda, schedule, dtype):
    t = torch.linspace(0.001, 0.999, 257, dtype=dtype)
    on_cpu, on_cuda = schedule(t), schedule(t.to(cuda))
    for field in ("alpha", "sigma", "d_alpha", "d_sigma"):
        _same(getattr(on_cpu, field), getattr(on_cuda, field), cuda, 1e-9 if dtype == torch.float64 else 1e-4)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_mixture_log_prob_and_score(cuda, dtype):
    mixture = toys.mixture("8gaussians", dtype=dtype)
    x = 2.0 * torch.randn(1000, 2, generator=torch.Generator().manual_seed(3), dtype=dtype)
    on_cuda = mixture.to(cuda)
    tol = TOL[dtype] * 10
    _same(mixture.log_prob(x), on_cuda.log_prob(x.to(cuda)), cuda, tol)
    _same(mixture.score(x), on_cuda.score(x.to(cuda)), cuda, tol)
    alpha, sigma = 0.6, 0.8
    noised = mixtures.noised_score(mixture, x, alpha, sigma)
    _same(noised, mixtures.noised_score(on_cuda, x.to(cuda), alpha, sigma), cuda, tol)


@pytest.mark.parametrize("name", toys.DATASETS)
def test_datasets_drawn_on_cuda_with_a_cpu_generator_equal_the_cpu_draw(cuda, name):
    on_cpu = toys.sample(name, 1000, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    on_cuda = toys.sample(name, 1000, generator=torch.Generator().manual_seed(4), device=cuda, dtype=torch.float64)
    _same(on_cpu, on_cuda, cuda, 1e-9)


def test_mlp_with_the_same_weights(cuda):
    torch.manual_seed(5)  # only the initial weights; the inputs use an explicit generator
    net = networks.MLP(2, hidden=64, layers=3)
    net_cuda = copy.deepcopy(net).to(cuda)
    gen = torch.Generator().manual_seed(6)
    x, t = torch.randn(256, 2, generator=gen), torch.rand(256, generator=gen)
    out, out_cuda = net(x, t), net_cuda(x.to(cuda), t.to(cuda))
    _same(out, out_cuda, cuda, 1e-4)
    out.square().mean().backward()
    out_cuda.square().mean().backward()
    for p, p_cuda in zip(net.parameters(), net_cuda.parameters(), strict=True):
        _same(p.grad, p_cuda.grad, cuda, 1e-4)


def test_adaptive_ode_solve(cuda):
    A = torch.tensor([[-0.5, -2.0], [2.0, -0.5]], dtype=torch.float64)
    x = torch.randn(100, 2, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    t_grid = torch.linspace(0, 1, 11, dtype=torch.float64)
    on_cpu = ode.integrate(lambda x, t: x @ A.T, x, t_grid, rtol=1e-9, atol=1e-9)
    A_cuda = A.to(cuda)
    on_cuda = ode.integrate(lambda x, t: x @ A_cuda.T, x.to(cuda), t_grid.to(cuda), rtol=1e-9, atol=1e-9)
    _same(on_cpu.trajectory, on_cuda.trajectory, cuda, 1e-8)
    assert on_cuda.nfe == on_cpu.nfe
