"""A small training loop with a progress bar, shared by every chapter that trains (Chapters 3-9).

The chapter supplies ``loss_fn(step) -> 0-d loss`` (which draws its own batch with an explicit
generator); :func:`train` runs Adam, shows a tqdm bar with the running loss, and returns the
loss history. Keeping the loop this small keeps the lesson in the loss, not in the plumbing.

The loop never waits for the device inside a step: the losses stay on the device, and every
``check_every`` steps they come to the host in one transfer, where their finiteness is checked
and the bar is updated. On a GPU a per-step ``loss.item()`` (or a Python ``if`` on a GPU tensor)
would stall the queue of kernels at every step, which is most of the cost of a small network.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

from coursekit._shapes import check_positive, check_positive_int

__all__ = ["train"]

SchedulerFactory = Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]


def train(
    loss_fn: Callable[[int], Tensor],
    parameters: Iterable[nn.Parameter] | nn.Module,
    *,
    steps: int,
    lr: float = 1e-3,
    progress: bool = True,
    description: str = "training",
    grad_clip: float | None = None,
    scheduler: SchedulerFactory | None = None,
    check_every: int = 50,
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
        scheduler: Builds a learning-rate scheduler from the optimizer, stepped after every
            optimisation step, e.g. ``lambda opt: CosineAnnealingLR(opt, T_max=steps)``.
        check_every: Bring the losses to the host, check them and update the bar every this many
            steps (and after the last one); the only host-device synchronisation of the loop.

    Returns:
        The loss at every step (a list of floats of length ``steps``).

    Raises:
        ValueError: If the loss is not a 0-d tensor, or becomes NaN/inf (the first such step is
            named; it is found at the next check, so the parameters have taken up to
            ``check_every - 1`` more steps by then).
    """
    check_positive_int(steps, "steps")
    check_positive(lr, "lr")
    check_positive_int(check_every, "check_every")
    if isinstance(parameters, nn.Module):
        parameters = parameters.parameters()
    params = list(parameters)
    if not params:
        raise ValueError("no parameters to train")
    optimizer = torch.optim.Adam(params, lr=lr)
    lr_scheduler = scheduler(optimizer) if scheduler is not None else None
    from tqdm.auto import tqdm

    history: list[float] = []
    pending: list[Tensor] = []  # the losses since the last check, still on the device
    bar = tqdm(range(steps), desc=description, disable=not progress, leave=False)
    for step in bar:
        loss = loss_fn(step)
        if not isinstance(loss, Tensor) or loss.ndim != 0:
            shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
            raise ValueError(f"loss_fn must return a 0-d tensor, got {shape}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        if lr_scheduler is not None:
            lr_scheduler.step()
        pending.append(loss.detach())
        if len(pending) == check_every or step == steps - 1:
            _check_and_record(pending, history)
            pending = []
            bar.set_postfix(loss=f"{history[-1]:.4f}")
    return history


def _check_and_record(pending: list[Tensor], history: list[float]) -> None:
    """Move the pending losses to the host in one transfer, refuse a NaN/inf, append them to ``history``."""
    values = torch.stack(pending).tolist()
    for offset, value in enumerate(values):
        if not math.isfinite(value):
            raise ValueError(f"the loss became {value} at step {len(history) + offset}; lower the learning rate")
    history.extend(values)
