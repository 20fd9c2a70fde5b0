"""Fokker-Planck solver: exact OU solution, mass, positivity, second order in dx, stability, stationarity."""

import math

import pytest
import torch

from coursekit.density import fokker_planck as fp
from coursekit.density.grids import Grid, histogram_density, kde_density, l1_distance
from coursekit.density.mixtures import GaussianMixture
from coursekit.sde import VPSDE, DriftDiffusionSDE, OrnsteinUhlenbeck
from coursekit.sde.convergence import fitted_order
from coursekit.sde.solvers import euler_maruyama

OU = OrnsteinUhlenbeck(theta=1.0, sigma=math.sqrt(2.0))
MEAN0, STD0 = torch.tensor([2.0, -1.0], dtype=torch.float64), 0.5


def ou_density(grid: Grid, t: float) -> torch.Tensor:
    """Exact density at time t of the OU process started from N(MEAN0, STD0^2 I) (per coordinate)."""
    alpha, sigma = OU.marginal_coefficients(torch.tensor(t, dtype=torch.float64))
    var = (alpha * STD0) ** 2 + sigma**2
    mean = alpha * MEAN0[: grid.dim]
    return grid.evaluate(
        lambda x: torch.exp(-((x - mean) ** 2).sum(1) / (2 * var)) / (2 * math.pi * var) ** (grid.dim / 2)
    )


@pytest.mark.parametrize("shape, bounds", [((400,), ((-6.0, 6.0),)), ((120, 120), ((-5.0, 6.0), (-6.0, 5.0)))])
def test_exact_ou_solution_mass_and_positivity(shape, bounds):
    grid = Grid(bounds, shape)
    start = ou_density(grid, 0.0)
    solution = fp.solve_fokker_planck(start, grid, OU.drift, OU.diffusion, torch.tensor([0.0, 0.5, 1.0]))
    assert l1_distance(solution.densities[-1], ou_density(grid, 1.0), grid) <= 1e-2
    masses = grid.mass(solution.densities)
    assert (masses - masses[0]).abs().max().item() <= 1e-10
    assert bool((solution.densities >= 0).all())
    assert solution.densities.shape == (3, *shape)


def test_second_order_in_dx():
    errors, widths = [], []
    for n in (100, 200, 400):
        grid = Grid(((-6.0, 6.0),), (n,))
        solution = fp.solve_fokker_planck(ou_density(grid, 0.0), grid, OU.drift, OU.diffusion, torch.tensor([0.0, 1.0]))
        errors.append(l1_distance(solution.densities[-1], ou_density(grid, 1.0), grid))
        widths.append(grid.dx[0])
    assert abs(fitted_order(widths, errors) - 2.0) < 0.2, errors


def test_time_dependent_vp_drift():
    vp = VPSDE()
    grid = Grid(((-5.0, 5.0),), (300,))
    start = grid.evaluate(lambda x: torch.exp(-((x[:, 0] - 1.5) ** 2) / (2 * 0.09)) / math.sqrt(2 * math.pi * 0.09))
    solution = fp.solve_fokker_planck(start, grid, vp.drift, vp.diffusion, torch.tensor([0.0, 0.5]))
    alpha, sigma = vp.marginal_coefficients(torch.tensor(0.5, dtype=torch.float64))
    var = alpha**2 * 0.09 + sigma**2
    exact = grid.evaluate(
        lambda x: torch.exp(-((x[:, 0] - 1.5 * alpha) ** 2) / (2 * var)) / torch.sqrt(2 * math.pi * var)
    )
    assert l1_distance(solution.densities[-1], exact, grid) <= 1e-2


def test_refuses_an_unstable_step():
    grid = Grid(((-6.0, 6.0),), (200,))
    limit = fp.stable_time_step(grid, OU.drift, OU.diffusion, 0.0)
    with pytest.raises(ValueError, match="exceeds the stability limit"):
        fp.solve_fokker_planck(
            ou_density(grid, 0.0), grid, OU.drift, OU.diffusion, torch.tensor([0.0, 0.1]), dt=2 * limit
        )
    ok = fp.solve_fokker_planck(ou_density(grid, 0.0), grid, OU.drift, OU.diffusion, torch.tensor([0.0, 0.1]), dt=limit)
    assert bool((ok.densities >= 0).all())


def test_past_the_limit_the_density_goes_negative():
    """The limit is sharp: a spike in the cell that drains fastest goes negative 1% past it, never at it."""
    grid = Grid(((-6.0, 6.0),), (200,))
    limit = fp.stable_time_step(grid, OU.drift, OU.diffusion, 0.0)
    lows = []
    for i in range(200):
        spike = torch.zeros(200, dtype=torch.float64)
        spike[i] = 1 / grid.dx[0]
        assert fp.fokker_planck_step(spike, grid, OU.drift, OU.diffusion, 0.0, limit).min() >= -1e-12
        lows.append(fp.fokker_planck_step(spike, grid, OU.drift, OU.diffusion, 0.0, 1.01 * limit).min().item())
    assert min(lows) < 0


def test_langevin_target_is_stationary():
    target = GaussianMixture.isotropic(torch.tensor([[-1.0], [1.2]], dtype=torch.float64), 0.6)
    grid = Grid(((-5.0, 5.0),), (200,))
    pi = grid.normalize(grid.evaluate(target.log_prob).exp())
    after = fp.solve_fokker_planck(pi, grid, lambda x, t: target.score(x), math.sqrt(2.0), torch.tensor([0.0, 2.0]))
    assert l1_distance(after.densities[-1], pi, grid) < 2e-3
    uniform = grid.normalize(torch.ones(200, dtype=torch.float64))
    settled = fp.solve_fokker_planck(
        uniform, grid, lambda x, t: target.score(x), math.sqrt(2.0), torch.tensor([0.0, 4.0])
    )
    assert l1_distance(settled.densities[-1], pi, grid) < 1e-2


def test_pure_transport_is_upwind_and_conservative():
    grid = Grid(((-4.0, 4.0),), (160,))
    start = grid.normalize(grid.evaluate(lambda x: torch.exp(-(x[:, 0] ** 2) / 0.5)))
    moved = fp.solve_fokker_planck(start, grid, lambda x, t: torch.ones_like(x), 0.0, torch.tensor([0.0, 1.0]))
    centre = (moved.densities[-1] * grid.centers[0]).sum() * grid.dx[0]
    assert centre.item() == pytest.approx(1.0, abs=0.02)
    assert grid.mass(moved.densities[-1]).item() == pytest.approx(1.0, abs=1e-12)


def test_particles_and_grid_agree():
    """20000 Euler-Maruyama particles and the grid solution agree within a KDE-L1 of 0.05 (a histogram on 60 cells
    of 20000 exact samples is already about 0.035 away, so this is sampling noise, not solver error)."""
    double_well = DriftDiffusionSDE(lambda x, t: x - x**3, 1.0)
    start = GaussianMixture.isotropic(torch.tensor([[-2.0], [0.8]], dtype=torch.float64), 0.3, torch.tensor([0.3, 0.7]))
    grid = Grid(((-3.0, 3.0),), (240,))
    solution = fp.solve_fokker_planck(
        grid.evaluate(start.log_prob).exp(), grid, double_well.drift, 1.0, torch.tensor([0.0, 1.0])
    )
    gen = torch.Generator().manual_seed(0)
    particles = euler_maruyama(
        double_well, start.sample(20_000, generator=gen), torch.linspace(0, 1, 1001), generator=gen
    )[-1]
    assert l1_distance(kde_density(particles, grid, 0.08), solution.densities[-1], grid) < 0.05
    coarse = Grid(((-3.0, 3.0),), (60,))
    assert (
        l1_distance(histogram_density(particles, coarse), solution.densities[-1].reshape(60, 4).mean(1), coarse) < 0.06
    )


def test_face_flux_limits():
    p_left, p_right, f = torch.tensor([1.0, 1.0]), torch.tensor([2.0, 2.0]), torch.tensor([1e-9, 0.0])
    central = f * (p_left + p_right) / 2 - 0.5 * (p_right - p_left) / 0.1
    torch.testing.assert_close(fp.face_flux(p_left, p_right, f, 0.5, 0.1), central)
    big = torch.tensor([500.0, -500.0])
    torch.testing.assert_close(fp.face_flux(p_left, p_right, big, 0.01, 0.1), torch.tensor([500.0, -1000.0]))
    assert torch.isfinite(fp.bernoulli(torch.tensor([-800.0, 0.0, 800.0]))).all()
    with pytest.raises(ValueError, match="non-negative"):
        fp.face_flux(p_left, p_right, f, -1.0, 0.1)


def test_bad_input():
    grid = Grid(((-1.0, 1.0),), (10,))
    with pytest.raises(ValueError, match=r"grid's shape \(10,\)"):
        fp.solve_fokker_planck(torch.ones(11), grid, OU.drift, OU.diffusion, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="increasing"):
        fp.solve_fokker_planck(torch.ones(10), grid, OU.drift, OU.diffusion, torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="dt must be positive"):
        fp.solve_fokker_planck(torch.ones(10), grid, OU.drift, OU.diffusion, torch.tensor([0.0, 1.0]), dt=0.0)
    with pytest.raises(ValueError, match="1 or 2 dimensions"):
        Grid(((0.0, 1.0),) * 3, (4, 4, 4))
    with pytest.raises(ValueError, match="lo < hi"):
        Grid(((1.0, 0.0),), (4,))


def test_grid_and_solver_follow_the_grids_device_and_dtype():
    """Every tensor a grid makes lives on its device, in its dtype; inputs are moved to it."""
    meta = Grid(((-1.0, 1.0), (0.0, 2.0)), (4, 3), dtype=torch.float32, device="meta")
    assert meta.device == torch.device("meta")
    assert all(c.device.type == "meta" and c.dtype == torch.float32 for c in meta.centers)
    assert meta.points.shape == (12, 2) and meta.points.device.type == "meta"
    grid = Grid(((-3.0, 3.0),), (60,), dtype=torch.float32)
    start = grid.normalize(grid.evaluate(lambda x: torch.exp(-0.5 * (x[:, 0] / 0.5) ** 2)))
    solution = fp.solve_fokker_planck(start.double(), grid, lambda x, t: -x, 1.0, torch.tensor([0.0, 0.1]))
    assert solution.densities.dtype == torch.float32 and solution.densities.device == grid.device
    assert abs(float(grid.mass(solution.densities[-1])) - 1.0) < 1e-5
    hist = histogram_density(torch.zeros(5, 1, dtype=torch.float64), grid)
    assert hist.dtype == torch.float32 and float(grid.mass(hist)) == pytest.approx(1.0)
