"""Langevin dynamics: the update rule, its stationary law (with the known step-size bias), errors."""

import pytest
import torch

from coursekit.sde.langevin import langevin_dynamics


def test_stationary_variance_has_the_known_ula_bias(gen):
    """For p = N(0, s^2), ULA's chain is AR(1) with stationary variance s^2 / (1 - eps / (2 s^2))."""
    s2, eps, n = 1.0, 0.2, 40_000
    chain = langevin_dynamics(lambda x: -x / s2, torch.zeros(n, 1, dtype=torch.float64), eps, 200, generator=gen)
    expected = s2 / (1 - eps / (2 * s2))
    assert chain[-1].var().item() == pytest.approx(expected, rel=4 * (2 / n) ** 0.5)
    assert chain[-1].var().item() > s2 * 1.05  # the bias is real, not noise


def test_update_rule_given_noise():
    x = torch.ones(2, 2, dtype=torch.float64)
    noise = torch.ones(1, 2, 2, dtype=torch.float64)
    chain = langevin_dynamics(lambda y: -y, x, 0.5, 1, noise=noise)
    torch.testing.assert_close(chain[1], x - 0.5 * x + 1.0 * noise[0])


def test_samples_mixture_modes_in_proportion():
    from coursekit.density.mixtures import GaussianMixture

    mixture = GaussianMixture.isotropic(torch.tensor([[-2.0, 0.0], [2.0, 0.0]]), 0.6, torch.tensor([0.25, 0.75]))
    x = torch.randn(20_000, 2, generator=torch.Generator().manual_seed(1)) * 3
    end = langevin_dynamics(mixture.score, x, 0.02, 300, generator=torch.Generator().manual_seed(2))[-1]
    fraction_right = (end[:, 0] > 0).double().mean().item()
    # well-separated modes barely mix; the start covers both, so the weights come from the start's
    # overlap with each basin, not from the target: the lesson of Chapter 1's last section
    assert 0.3 < fraction_right < 0.7


def test_bad_input():
    with pytest.raises(ValueError, match="step_size"):
        langevin_dynamics(lambda x: -x, torch.zeros(2, 1), 0.0, 3)
    with pytest.raises(ValueError, match="n_steps"):
        langevin_dynamics(lambda x: -x, torch.zeros(2, 1), 0.1, 0)
    with pytest.raises(ValueError, match="noise must have shape"):
        langevin_dynamics(lambda x: -x, torch.zeros(2, 1), 0.1, 3, noise=torch.zeros(2, 2, 1))


def test_a_time_dependent_score_is_refused_with_the_fix():
    """Langevin samples one density: its score is score(x); a score(x, t) gets a message, not a crash."""
    with pytest.raises(TypeError, match=r"score\(x\).*lambda x: score\(x, t\)"):
        langevin_dynamics(lambda x, t: -x, torch.zeros(2, 1), 0.1, 3)
    fixed_time = lambda x, t=0.5: -x / t  # noqa: E731 - a default for t makes it a score(x)
    assert langevin_dynamics(fixed_time, torch.zeros(2, 1), 0.1, 3).shape == (4, 2, 1)
    assert langevin_dynamics(torch.nn.Identity(), torch.zeros(2, 1), 0.1, 3).shape == (4, 2, 1)  # a module's forward(x)
