r"""Measuring convergence orders of ODE and SDE solvers (Chapter 1; used by the tests too).

A method has order $p$ when its error behaves like $C h^p$ for step size $h$; on a log-log plot
the errors lie on a line of slope $p$. For SDEs, the *strong* error
$\mathbb E\,|x^h_T - x_T|$ compares paths driven by the same Brownian motion; the *weak* error
$|\mathbb E\,\varphi(x^h_T) - \mathbb E\,\varphi(x_T)|$ compares laws only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive_int
from coursekit.sde.brownian import brownian_increments
from coursekit.sde.processes import SDE
from coursekit.sde.time_grids import uniform_grid

__all__ = ["fitted_order", "strong_errors", "weak_errors"]

Solver = Callable[..., Tensor]


def fitted_order(h: Sequence[float] | Tensor, errors: Sequence[float] | Tensor) -> float:
    r"""Least-squares slope of $\log(\text{error})$ against $\log h$: the observed order.

    Args:
        h: Step sizes, ``M`` of them.
        errors: Positive errors, ``M`` of them.

    Returns:
        The fitted slope.

    Example:
        >>> round(fitted_order([0.1, 0.01, 0.001], [0.2, 0.02, 0.002]), 6)
        1.0
    """
    log_h = torch.log(torch.as_tensor(h, dtype=torch.float64))
    log_e = torch.log(torch.as_tensor(errors, dtype=torch.float64))
    if log_h.shape != log_e.shape or log_h.ndim != 1 or log_h.numel() < 2:
        raise ValueError(
            f"need two 1-D sequences of equal length >= 2, got {tuple(log_h.shape)} and {tuple(log_e.shape)}"
        )
    if not torch.isfinite(log_e).all():
        raise ValueError("errors must be positive and finite")
    log_h, log_e = log_h - log_h.mean(), log_e - log_e.mean()
    return float((log_h * log_e).sum() / (log_h**2).sum())


def _coarsen(dW: Tensor, steps: int) -> Tensor:
    """Sum fine increments ``(F, N, d)`` into ``steps`` coarse ones along the same path."""
    fine = dW.shape[0]
    if fine % steps:
        raise ValueError(f"the finest grid ({fine} steps) must be a multiple of every step count, got {steps}")
    return dW.reshape(steps, fine // steps, *dW.shape[1:]).sum(dim=1)  # (steps, N, d)


def strong_errors(
    solver: Solver,
    sde: SDE,
    x0: Tensor,
    steps: Sequence[int],
    *,
    t_end: float = 1.0,
    fine_steps: int = 4096,
    exact: Callable[[Tensor, Tensor, Tensor], Tensor] | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Strong errors $\mathbb E|x^h_T - x_T|$ for several step counts, along shared Brownian paths.

    Increments are drawn on the finest grid and summed for coarser ones. The reference $x_T$ is
    ``exact(x0, W, t)`` when given (e.g. :meth:`GeometricBrownianMotion.solution`), otherwise the
    same solver on the finest grid.

    Args:
        solver: ``solver(sde, x, t_grid, dW=...)`` returning ``(T+1, N, d)``, like Euler-Maruyama.
        sde: The SDE.
        x0: Initial points, shape ``(N, d)``.
        steps: Step counts, each dividing ``fine_steps``.
        t_end: Final time $T$.
        fine_steps: Steps of the finest (reference) grid.
        exact: Optional pathwise solution ``(x0 (N, d), W (F+1, N, d), t (F+1,)) -> (F+1, N, d)``.
        generator: Source of randomness.

    Returns:
        Errors, shape ``(len(steps),)``, float64.
    """
    check_points(x0, "x0")
    check_positive_int(fine_steps, "fine_steps")
    x0 = x0.to(torch.float64)
    t_fine = uniform_grid(0.0, t_end, fine_steps, dtype=torch.float64, device=x0.device)
    dW = brownian_increments(t_fine, x0.shape[0], x0.shape[1], generator=generator)  # (F, N, d)
    if exact is not None:
        W = torch.cat([torch.zeros_like(dW[:1]), dW.cumsum(dim=0)])  # (F+1, N, d)
        reference = exact(x0, W, t_fine)[-1]
    else:
        reference = solver(sde, x0, t_fine, dW=dW)[-1]
    errors = []
    for n in steps:
        check_positive_int(n, "steps")
        t_grid = uniform_grid(0.0, t_end, n, dtype=torch.float64, device=x0.device)
        x_end = solver(sde, x0, t_grid, dW=_coarsen(dW, n))[-1]
        errors.append((x_end - reference).norm(dim=1).mean())
    return torch.stack(errors)


def weak_errors(
    solver: Solver,
    sde: SDE,
    x0: Tensor,
    steps: Sequence[int],
    exact_mean: float | Tensor,
    *,
    t_end: float = 1.0,
    observable: Callable[[Tensor], Tensor] = lambda x: x[:, 0],
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Weak errors $|\mathbb E\,\varphi(x^h_T) - \mathbb E\,\varphi(x_T)|$ by Monte Carlo.

    All step counts share the same Brownian paths (common random numbers), which removes most of
    the Monte-Carlo noise from the differences between step sizes.

    Args:
        solver: ``solver(sde, x, t_grid, dW=...)`` returning ``(T+1, N, d)``.
        sde: The SDE.
        x0: Initial points, shape ``(N, d)``; use many (1e5 or more).
        steps: Step counts, each dividing the largest.
        exact_mean: $\mathbb E\,\varphi(x_T)$.
        t_end: Final time $T$.
        observable: $\varphi$, ``(N, d) -> (N,)`` (default: the first coordinate).
        generator: Source of randomness.

    Returns:
        Errors, shape ``(len(steps),)``, float64.
    """
    check_points(x0, "x0")
    x0 = x0.to(torch.float64)
    finest = max(steps)
    t_fine = uniform_grid(0.0, t_end, finest, dtype=torch.float64, device=x0.device)
    dW = brownian_increments(t_fine, x0.shape[0], x0.shape[1], generator=generator)
    errors = []
    for n in steps:
        t_grid = uniform_grid(0.0, t_end, n, dtype=torch.float64, device=x0.device)
        mean = observable(solver(sde, x0, t_grid, dW=_coarsen(dW, n))[-1]).mean()
        errors.append((mean - torch.as_tensor(exact_mean, dtype=torch.float64)).abs())
    return torch.stack(errors)
