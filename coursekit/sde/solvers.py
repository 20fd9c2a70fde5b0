r"""Euler-Maruyama, the simplest SDE solver (Chapter 1).

$$x_{k+1} = x_k + f(x_k, t_k)\,\Delta t_k + G(x_k, t_k)\,\Delta W_k,
  \qquad \Delta W_k \sim \mathcal N(0, |\Delta t_k|\,I).$$

Strong order 1/2 in general, 1 for additive noise; weak order 1 (Kloeden & Platen 1992).
The solver runs forward ($t_0 < t_T$) or backward ($t_0 > t_T$, as reverse-time samplers do).
:func:`euler_maruyama_step` is the one implementation of the step: the solver here, the
diffusion samplers (:mod:`coursekit.diffusion.samplers`, the predictor of predictor-corrector) and
the Langevin samplers (whose SDE is $dx = s\,dt + \sqrt2\,dW$) all take it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from coursekit._choices import check_choice
from coursekit._shapes import check_points, check_time_grid
from coursekit.sde.brownian import brownian_increments
from coursekit.sde.processes import SDE

__all__ = ["euler_maruyama", "euler_maruyama_step", "simulate"]


def euler_maruyama_step(
    x: Tensor, drift: Tensor, dt: float | Tensor, diffusion: float | Tensor | None = None, dW: Tensor | None = None
) -> Tensor:
    r"""One Euler-Maruyama step $x + f\,\Delta t + G\,\Delta W$ (Chapter 1).

    The drift and the factor in front of the noise are evaluated by the caller at the start of
    the step, which is what makes the scheme explicit. A reverse-time sampler passes its drift
    with a negative ``dt``; a caller that has $G\sqrt{|\Delta t|}$ and a standard normal $z$ may
    pass those as ``diffusion`` and ``dW`` (the product is the same increment).

    Args:
        x: Points at the start of the step, shape ``(N, d)``.
        drift: $f(x, t)$, shape ``(N, d)``.
        dt: Signed step $\Delta t$, a number or a 0-d tensor.
        diffusion: $G(x, t)$, broadcastable to ``x`` (``(N, d)``, ``(N, 1)`` or a number);
            ``None`` for a step without noise (an Euler step of the drift alone).
        dW: The Brownian increment $\Delta W \sim \mathcal N(0, |\Delta t|\,I)$, shape ``(N, d)``.

    Returns:
        The points at the end of the step, shape ``(N, d)``.

    Example:
        >>> euler_maruyama_step(torch.ones(1, 1), -torch.ones(1, 1), 0.1, 2.0, torch.full((1, 1), 0.5))
        tensor([[1.9000]])
    """
    x_new = x + drift * dt
    if diffusion is None:
        return x_new
    if dW is None:
        raise ValueError("a step with a diffusion needs its Brownian increment dW, shape (N, d)")
    return x_new + diffusion * dW


def euler_maruyama(
    sde: SDE,
    x: Tensor,
    t_grid: Tensor,
    *,
    generator: torch.Generator | None = None,
    dW: Tensor | None = None,
) -> Tensor:
    r"""Simulate $dx = f\,dt + G\,dW$ with Euler-Maruyama on a time grid (Chapter 1, exercise).

    Args:
        sde: Gives ``sde.drift(x, t)`` and ``sde.diffusion_term(x, t)``.
        x: Initial points $x_{t_0}$, shape ``(N, d)``.
        t_grid: Times $t_0, \dots, t_T$, shape ``(T+1,)``, strictly monotone.
        generator: Source of randomness for the Brownian increments.
        dW: Optional Brownian increments, shape ``(T, N, d)``; given, the solve is deterministic
            (used to compare solvers on the same Brownian path).

    Returns:
        The trajectory, shape ``(T+1, N, d)`` (time first), with ``trajectory[0] == x``.

    Example:
        >>> from coursekit.sde.processes import OrnsteinUhlenbeck
        >>> euler_maruyama(OrnsteinUhlenbeck(), torch.zeros(5, 2), torch.linspace(0, 1, 11)).shape
        torch.Size([11, 5, 2])
    """
    check_points(x)
    t_grid = check_time_grid(torch.as_tensor(t_grid)).to(device=x.device, dtype=x.dtype)
    if dW is None:
        dW = brownian_increments(t_grid, x.shape[0], x.shape[1], generator=generator)
    elif dW.shape != (t_grid.shape[0] - 1, *x.shape):
        raise ValueError(f"dW must have shape (T, N, d) = {(t_grid.shape[0] - 1, *x.shape)}, got {tuple(dW.shape)}")
    trajectory = [x]
    for k in range(t_grid.shape[0] - 1):
        t, dt = t_grid[k], t_grid[k + 1] - t_grid[k]
        x = euler_maruyama_step(x, sde.drift(x, t), dt, sde.diffusion_term(x, t), dW[k])
        trajectory.append(x)
    return torch.stack(trajectory)  # (T+1, N, d)


euler_maruyama.strong_order = 0.5  # type: ignore[attr-defined]
euler_maruyama.weak_order = 1.0  # type: ignore[attr-defined]

_METHODS: dict[str, Callable[..., Tensor]] = {"euler_maruyama": euler_maruyama}


def simulate(
    sde: SDE,
    x: Tensor,
    t_grid: Tensor,
    *,
    method: str = "euler_maruyama",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Simulate an SDE with a named method (only ``"euler_maruyama"`` so far).

    Args:
        sde: The SDE.
        x: Initial points, shape ``(N, d)``.
        t_grid: Times, shape ``(T+1,)``.
        method: Name of the solver.
        generator: Source of randomness.

    Returns:
        The trajectory, shape ``(T+1, N, d)``.
    """
    return _METHODS[check_choice(method, _METHODS, "SDE method")](sde, x, t_grid, generator=generator)
