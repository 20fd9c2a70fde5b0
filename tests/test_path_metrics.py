"""Path energy, normalized path energy and straightness: closed forms for lines and circles, identities, errors."""

import math

import pytest
import torch

from coursekit.flows.path_metrics import normalized_path_energy, path_energy, straightness


def _line(start, end, t_grid, speed=lambda s: s):
    """Particles moving on straight lines from start (t_grid[0]) to end (t_grid[-1]); (T+1, N, d)."""
    s = (t_grid - t_grid[0]) / (t_grid[-1] - t_grid[0])  # 0 -> 1
    s = speed(s)
    return start[None] + s[:, None, None] * (end - start)[None]


@pytest.mark.parametrize(
    "t_grid",
    [
        torch.linspace(1, 0, 11, dtype=torch.float64),
        torch.tensor([0.0, 0.05, 0.3, 0.31, 0.9, 1.7], dtype=torch.float64),
    ],
)
def test_straight_constant_speed_paths(gen, t_grid):
    start, end = (
        torch.randn(50, 3, generator=gen, dtype=torch.float64),
        torch.randn(50, 3, generator=gen, dtype=torch.float64),
    )
    trajectory = _line(start, end, t_grid)
    tau = float((t_grid[-1] - t_grid[0]).abs())
    assert normalized_path_energy(trajectory, t_grid) == pytest.approx(1.0, abs=1e-12)
    assert straightness(trajectory, t_grid) == pytest.approx(0.0, abs=1e-12)
    assert path_energy(trajectory, t_grid) == pytest.approx(float(((end - start) ** 2).sum(1).mean()) / tau, rel=1e-12)


def test_straight_path_at_varying_speed_is_straight_but_costs_more(gen):
    t_grid = torch.linspace(0, 1, 2001, dtype=torch.float64)
    start, end = torch.zeros(4, 2, dtype=torch.float64), torch.randn(4, 2, generator=gen, dtype=torch.float64)
    trajectory = _line(start, end, t_grid, speed=lambda s: s**2)  # x(s) = s^2: energy int (2s)^2 = 4/3
    assert normalized_path_energy(trajectory, t_grid) == pytest.approx(4 / 3, rel=1e-5)
    assert straightness(trajectory, t_grid) > 0  # Liu et al.'s S also penalises the change of speed


def test_half_circle_has_the_analytic_energy():
    r, t_grid = 1.5, torch.linspace(0, 1, 4001, dtype=torch.float64)
    angle = math.pi * t_grid
    trajectory = torch.stack([r * angle.cos(), r * angle.sin()], -1)[:, None, :]  # (T+1, 1, 2)
    # speed pi r: energy pi^2 r^2; chord 2r: NPE = pi^2 / 4; S = E - |chord|^2 = (pi^2 - 4) r^2
    assert path_energy(trajectory, t_grid) == pytest.approx(math.pi**2 * r**2, rel=1e-6)
    assert normalized_path_energy(trajectory, t_grid) == pytest.approx(math.pi**2 / 4, rel=1e-6)
    assert straightness(trajectory, t_grid) == pytest.approx((math.pi**2 - 4) * r**2, rel=1e-5)


def test_straightness_and_normalized_energy_identity(gen):
    t_grid = torch.linspace(1.0, 0.2, 9, dtype=torch.float64)  # backwards, span 0.8
    trajectory = torch.randn(9, 30, 2, generator=gen, dtype=torch.float64).cumsum(0)  # random zig-zags
    tau = 0.8
    chord = float(((trajectory[-1] - trajectory[0]) ** 2).sum(1).mean())
    npe = normalized_path_energy(trajectory, t_grid)
    assert npe > 1
    assert straightness(trajectory, t_grid) == pytest.approx(chord / tau**2 * (npe - 1), rel=1e-10)


def test_direction_of_time_does_not_matter(gen):
    trajectory = torch.randn(6, 10, 2, generator=gen, dtype=torch.float64)
    forward, backward = torch.linspace(0, 1, 6, dtype=torch.float64), torch.linspace(1, 0, 6, dtype=torch.float64)
    for metric in (path_energy, normalized_path_energy, straightness):
        assert metric(trajectory, forward) == pytest.approx(metric(trajectory, backward), rel=1e-12)


def test_bad_input_raises():
    t_grid = torch.linspace(0, 1, 3)
    with pytest.raises(ValueError, match=r"\(T\+1, N, d\)"):
        path_energy(torch.zeros(3, 2), t_grid)
    with pytest.raises(ValueError, match="t_grid has 3 times"):
        straightness(torch.zeros(4, 2, 2), t_grid)
    with pytest.raises(ValueError, match="strictly"):
        path_energy(torch.zeros(3, 2, 2), torch.tensor([0.0, 0.5, 0.5]))
    with pytest.raises(TypeError, match="torch.Tensor"):
        path_energy([[[0.0]]], t_grid)
    with pytest.raises(ValueError, match="do not move"):
        normalized_path_energy(torch.ones(3, 2, 2), t_grid)
