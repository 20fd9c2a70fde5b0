"""Interactive explorers (ipywidgets) and their static counterparts for the website.

A slider needs a running kernel (Colab or Jupyter); the website shows the matching animation
made by the same code, so readers without a kernel see the same dynamics.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from coursekit._shapes import check_points
from coursekit.data import toys
from coursekit.rng import randn_like
from coursekit.sde.processes import SDE, VESDE, VPSDE
from coursekit.sde.schedules import CosineSchedule

__all__ = ["NOISING_PROCESSES", "fokker_planck_explorer", "forward_process_explorer", "noising_frames"]

#: The processes the forward-process explorer offers, by menu label (Chapter 1).
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

    from coursekit.viz import plotting

    def show(dataset: str, process: str, t: float) -> None:
        generator = torch.Generator().manual_seed(seed)
        x_data = toys.sample(dataset, n, generator=generator)
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
        dataset=widgets.Dropdown(options=list(toys.DATASETS), value="8gaussians", description="data"),
        process=widgets.Dropdown(options=list(NOISING_PROCESSES), description="process"),
        t=widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.02, description="t", continuous_update=True),
    )


def fokker_planck_explorer(solution, particles: Tensor, *, bins: int = 60):  # pragma: no cover - needs a kernel
    """A time slider showing the grid density and the particle histogram side by side (Chapter 2).

    Args:
        solution: A 1D :class:`~coursekit.density.fokker_planck.FokkerPlanckSolution` with ``K`` output times.
        particles: Particle positions at the same times, shape ``(K, N, 1)`` or ``(K, N)``.
        bins: Histogram bins.

    Returns:
        The ``ipywidgets`` widget.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from coursekit.density.grids import histogram_density, l1_distance

    if solution.grid.dim != 1:
        raise ValueError("the explorer shows 1D solutions; pick a slice of a 2D one first")
    particles = particles.reshape(particles.shape[0], -1, 1)
    if particles.shape[0] != solution.times.shape[0]:
        raise ValueError(
            f"particles must have one frame per output time ({solution.times.shape[0]}), got {particles.shape[0]}"
        )
    x_grid = solution.grid.centers[0]
    lo, hi = solution.grid.bounds[0]
    top = 1.1 * float(solution.densities.max())

    def show(k: int) -> None:
        fig, (ax_grid, ax_particles) = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
        ax_grid.plot(x_grid, solution.densities[k], color="C0")
        ax_grid.set(xlabel="$x$", ylabel="density", title=f"grid solver, t = {solution.times[k]:.2f}", ylim=(0, top))
        ax_particles.hist(particles[k, :, 0].numpy(), bins=bins, range=(lo, hi), density=True, color="C1", alpha=0.7)
        l1 = l1_distance(histogram_density(particles[k], solution.grid), solution.densities[k], solution.grid)
        ax_particles.set(xlabel="$x$", title=f"{particles.shape[1]} particles (histogram L1 = {l1:.3f})")
        plt.show()

    return widgets.interactive(show, k=widgets.IntSlider(0, 0, particles.shape[0] - 1, description="time index"))
