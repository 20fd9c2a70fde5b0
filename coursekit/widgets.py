"""Interactive explorers (ipywidgets) and their static counterparts for the website.

A slider needs a running kernel (Colab or Jupyter); the website shows the matching animation
made by the same code, so readers without a kernel see the same dynamics.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from coursekit import datasets
from coursekit._shapes import check_points
from coursekit.rng import randn_like
from coursekit.schedules import CosineSchedule
from coursekit.sde import SDE, VESDE, VPSDE

__all__ = ["NOISING_PROCESSES", "forward_process_explorer", "noising_frames"]

NOISING_PROCESSES: dict[str, SDE] = {
    "VP, linear beta": VPSDE(),
    "VP, cosine": VPSDE(CosineSchedule()),
    "VE, sigma_max = 10": VESDE(0.01, 10.0),
}


def noising_frames(
    x_data: Tensor, sde: SDE, times: Sequence[float] | Tensor, *, generator: torch.Generator | None = None
) -> Tensor:
    r"""Noised copies $x_t = \alpha_t x_{\text{data}} + \sigma_t\varepsilon$ with one fixed $\varepsilon$ (Chapter 1).

    Keeping $\varepsilon$ fixed across times makes each point move continuously, so frames can be
    animated. Each frame has exactly the marginal law of the SDE at its time.

    Args:
        x_data: Data points, shape ``(N, d)``.
        sde: An SDE with closed-form marginal coefficients.
        times: Times in $[0, 1]$, ``F`` of them.
        generator: Source of randomness for $\varepsilon$.

    Returns:
        Frames of shape ``(F, N, d)``.
    """
    check_points(x_data, "x_data")
    noise = randn_like(x_data, generator=generator)  # (N, d), shared by all frames
    frames = []
    for t in torch.as_tensor(times, dtype=x_data.dtype):
        alpha, sigma = sde.marginal_coefficients(t)
        frames.append(alpha * x_data + sigma * noise)
    return torch.stack(frames)  # (F, N, d)


def forward_process_explorer(n: int = 2000, seed: int = 0):  # pragma: no cover - needs a kernel
    """A dataset menu, a process menu and a time slider showing the noised data at time $t$ (Chapter 1).

    Args:
        n: Number of data points.
        seed: Seed of the data and of the fixed noise.

    Returns:
        The ``ipywidgets`` widget (display it as a cell's last expression).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from coursekit import plotting

    def show(dataset: str, process: str, t: float) -> None:
        generator = torch.Generator().manual_seed(seed)
        x_data = datasets.sample(dataset, n, generator=generator)
        sde = NOISING_PROCESSES[process]
        x_t = noising_frames(x_data, sde, [t], generator=generator)[0]
        alpha, sigma = sde.marginal_coefficients(torch.tensor(t))
        lims = (-12, 12) if process.startswith("VE") else (-5, 5)
        fig, ax = plt.subplots(figsize=(5, 5))
        plotting.plot_samples(x_t, ax=ax, lims=lims, title=f"{dataset}, {process}: t = {t:.2f}")
        ax.text(0.02, 0.02, f"alpha_t = {alpha.item():.3f}, sigma_t = {sigma.item():.3f}", transform=ax.transAxes)
        plt.show()

    return widgets.interactive(
        show,
        dataset=widgets.Dropdown(options=list(datasets.DATASETS), value="8gaussians", description="data"),
        process=widgets.Dropdown(options=list(NOISING_PROCESSES), description="process"),
        t=widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.02, description="t", continuous_update=True),
    )
