"""The guidance-scale explorer and its static counterpart for the website (Chapter 7).

A slider sets the classifier-free guidance scale $w$ and shows a grid of generated digits, one row
per class; :func:`guidance_figure` draws the same grids for a few fixed scales side by side, for
readers without a kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from coursekit._shapes import check_positive_int
from coursekit.data import digits
from coursekit.flows import flow_matching as fm
from coursekit.guidance.guided import classifier_free_guidance

__all__ = ["guidance_explorer", "guidance_figure", "guided_digits"]


def guided_digits(
    model: Callable[[Tensor, Tensor, Tensor], Tensor],
    w: float,
    *,
    per_class: int = 8,
    n_steps: int = 30,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""Generate ``per_class`` digits of each class with classifier-free guidance of scale $w$ (flow matching, Euler).

    The same noise (from ``seed``) is used for every $w$, so the grids of two scales differ only
    by the guidance.

    Args:
        model: A conditional velocity ``model(x, t, y)`` on $\mathbb R^{64}$ with a null label.
        w: Guidance scale.
        per_class: Images per class.
        n_steps: Euler steps from $t = 1$ to $t = 0$.
        seed: Seed of the starting noise.
        device: Where the model lives.

    Returns:
        Images clipped to $[-1, 1]$, shape ``(10 * per_class, 64)`` on the CPU, class ``k`` in rows
        ``k * per_class ...``.
    """
    check_positive_int(per_class, "per_class")
    noise = torch.randn(10 * per_class, 64, generator=torch.Generator().manual_seed(seed)).to(device)
    labels = torch.arange(10, device=device).repeat_interleave(per_class)
    with torch.no_grad():
        samples = fm.sample(classifier_free_guidance(model, labels, w), noise, n_steps=n_steps).samples
    return samples.clamp(-1, 1).cpu()  # the valid pixel range


def guidance_figure(model: Callable[[Tensor, Tensor, Tensor], Tensor], ws: Sequence[float], **kwargs: object):
    """One panel of generated digits (a row per class) for each guidance scale in ``ws``.

    Args:
        model: As in :func:`guided_digits`.
        ws: The guidance scales.
        **kwargs: Passed to :func:`guided_digits`.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ws), figsize=(3.2 * len(ws), 3.6), squeeze=False)
    for ax, w in zip(axes[0], ws, strict=True):
        images = guided_digits(model, w, **kwargs)  # type: ignore[arg-type]
        ax.imshow(digits.image_grid(images, rows=10), cmap="gray_r", vmin=-1, vmax=1)
        ax.set(title=f"w = {w:g}", xticks=[], yticks=[])
        ax.set_ylabel("requested class 0 (top) to 9")
    fig.suptitle("classifier-free guidance: the same noise, growing guidance scale")
    fig.tight_layout()
    return fig


def guidance_explorer(
    model: Callable[[Tensor, Tensor, Tensor], Tensor],
    *,
    w_max: float = 8.0,
    per_class: int = 8,
    n_steps: int = 30,
    device: torch.device | str | None = None,
):  # pragma: no cover - needs a kernel
    """A slider for the guidance scale $w$ and one for the noise seed, showing a grid of guided digits (Chapter 7).

    Args:
        model: As in :func:`guided_digits`.
        w_max: Largest scale on the slider.
        per_class: Images per class.
        n_steps: Euler steps.
        device: Where the model lives.

    Returns:
        The ``ipywidgets`` widget.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(w: float, seed: int) -> None:
        images = guided_digits(model, w, per_class=per_class, n_steps=n_steps, seed=seed, device=device)
        fig, ax = plt.subplots(figsize=(5, 6))
        ax.imshow(digits.image_grid(images, rows=10), cmap="gray_r", vmin=-1, vmax=1)
        ax.set(title=f"guidance scale w = {w:.2f}", xticks=[], yticks=[], ylabel="requested class 0 (top) to 9")
        plt.show()

    return widgets.interactive(
        show,
        w=widgets.FloatSlider(value=0.0, min=0.0, max=w_max, step=0.25, description="w", continuous_update=False),
        seed=widgets.IntSlider(value=0, min=0, max=20, description="noise seed", continuous_update=False),
    )
