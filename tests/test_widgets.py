"""Static counterparts of the explorers: noised frames have the SDE's exact marginal law."""

import pytest
import torch

from coursekit.sde import VESDE, VPSDE
from coursekit.viz.widgets import NOISING_PROCESSES, noising_frames


@pytest.mark.parametrize("sde", [VPSDE(), VESDE(0.01, 10.0)], ids=["vp", "ve"])
def test_noising_frames_follow_the_marginal(sde):
    x_data = torch.full((40_000, 2), 1.5, dtype=torch.float64)
    frames = noising_frames(x_data, sde, [0.0, 0.3, 1.0], generator=torch.Generator().manual_seed(0))
    assert frames.shape == (3, 40_000, 2)
    torch.testing.assert_close(frames[0], x_data)
    for frame, t in zip(frames[1:], (0.3, 1.0), strict=True):
        alpha, sigma = sde.marginal_coefficients(torch.tensor(t, dtype=torch.float64))
        assert frame.mean().item() == pytest.approx(1.5 * alpha.item(), abs=4 * sigma.item() / 200)
        assert frame.std().item() == pytest.approx(sigma.item(), rel=0.02)


def test_processes_listed():
    assert set(NOISING_PROCESSES) == {"VP, linear beta", "VP, cosine", "VE, sigma_max = 10"}


def test_bad_shape():
    with pytest.raises(ValueError, match="x_data"):
        noising_frames(torch.zeros(3), VPSDE(), [0.5])
