"""A small training loop with a progress bar, shared by every chapter that trains (Chapters 3-9).

The chapter supplies ``loss_fn(step) -> 0-d loss`` (which draws its own batch with an explicit
generator); :func:`train` runs Adam, shows a tqdm bar with the running loss, and returns the
loss history. Keeping the loop this small keeps the lesson in the loss, not in the plumbing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

from coursekit._shapes import check_positive, check_positive_int

__all__ = ["train"]


def train(
    loss_fn: Callable[[int], Tensor],
    parameters: Iterable[nn.Parameter] | nn.Module,
    *,
    steps: int,
    lr: float = 1e-3,
    progress: bool = True,
    description: str = "training",
    grad_clip: float | None = None,
) -> list[float]:
    """Minimise ``loss_fn`` with Adam for ``steps`` steps.

    Args:
        loss_fn: ``loss_fn(step)`` returns a 0-d loss tensor for step ``step``.
        parameters: The parameters to train, or a module.
        steps: Number of optimisation steps.
        lr: Adam's learning rate.
        progress: Show a tqdm progress bar (auto-detects notebooks).
        description: Label of the progress bar.
        grad_clip: Clip the gradient norm to this value, if given.

    Returns:
        The loss at every step (a list of floats of length ``steps``).

    Raises:
        ValueError: If the loss is not a 0-d tensor or becomes NaN/inf (the step is named).
    """
    check_positive_int(steps, "steps")
    check_positive(lr, "lr")
    if isinstance(parameters, nn.Module):
        parameters = parameters.parameters()
    params = list(parameters)
    if not params:
        raise ValueError("no parameters to train")
    optimizer = torch.optim.Adam(params, lr=lr)
    from tqdm.auto import tqdm

    history: list[float] = []
    bar = tqdm(range(steps), desc=description, disable=not progress, leave=False)
    for step in bar:
        loss = loss_fn(step)
        if not isinstance(loss, Tensor) or loss.ndim != 0:
            shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
            raise ValueError(f"loss_fn must return a 0-d tensor, got {shape}")
        if not torch.isfinite(loss):
            raise ValueError(f"the loss became {loss.item()} at step {step}; lower the learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        history.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{history[-1]:.4f}")
    return history
