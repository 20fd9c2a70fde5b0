r"""Reversing a noising SDE: the reverse-time SDE and the probability-flow ODE (Chapters 2, 6).

For the forward SDE $dx = f(x,t)\,dt + g(t)\,dW_t$ with marginals $p_t$, the Fokker-Planck equation
can be written as a continuity equation $\partial_t p_t = -\nabla\cdot(p_t\, v_t)$ with the
**probability-flow** velocity
$$v_t(x) = f(x, t) - \tfrac12 g(t)^2\, \nabla\log p_t(x),$$
so the ODE $\dot x = v_t(x)$ has the same marginals as the SDE (Song et al. 2021). Adding and
subtracting the diffusion term gives the **reverse-time SDE** (Anderson 1982)
$$dx = \big[f(x, t) - g(t)^2\, \nabla\log p_t(x)\big]\,dt + g(t)\, d\bar W_t,$$
run from $t = 1$ down to $t = 0$ (negative $dt$), whose marginals are again $p_t$. Both need the
score $\nabla\log p_t$; later chapters learn it, Chapter 2 uses it in closed form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from coursekit._shapes import as_time, broadcast_time, check_points
from coursekit.sde.processes import SDE

__all__ = ["ReverseSDE", "probability_flow_drift", "probability_flow_velocity", "reverse_sde_drift"]

Score = Callable[[Tensor, Tensor], Tensor]


def _check_additive(sde: SDE) -> None:
    """Refuse an SDE whose noise is not additive: these formulas hold for $G(x, t) = g(t)$ only."""
    noise_type = getattr(sde, "noise_type", "additive")
    if noise_type != "additive":
        raise ValueError(
            f"the reverse-time SDE and the probability-flow ODE here need additive noise G = g(t); "
            f"{type(sde).__name__} has {noise_type} noise (its reverse drift has the extra term "
            f"-div(G G^T), not implemented)"
        )


def probability_flow_drift(sde: SDE, score: Score, x: Tensor, t: float | Tensor) -> Tensor:
    r"""The probability-flow velocity $f(x,t) - \tfrac12 g(t)^2 \nabla\log p_t(x)$ (Chapter 2, exercise).

    Args:
        sde: The forward SDE (additive noise: ``sde.diffusion(t)`` gives $g(t)$).
        score: $\nabla\log p_t(x)$ as ``score(x, t) -> (N, d)``.
        x: Points, shape ``(N, d)``.
        t: Time, scalar or ``(N,)``.

    Returns:
        The velocity, shape ``(N, d)``.

    Raises:
        ValueError: If ``sde.noise_type`` is not ``"additive"`` (geometric Brownian motion).
    """
    check_points(x)
    _check_additive(sde)
    t = as_time(t, x)
    g = broadcast_time(sde.diffusion(t), x)
    return sde.drift(x, t) - 0.5 * g**2 * score(x, t)


def reverse_sde_drift(sde: SDE, score: Score, x: Tensor, t: float | Tensor) -> Tensor:
    r"""The drift $f(x,t) - g(t)^2 \nabla\log p_t(x)$ of the reverse-time SDE (Chapter 2, exercise).

    Args:
        sde: The forward SDE (additive noise).
        score: $\nabla\log p_t(x)$ as ``score(x, t) -> (N, d)``.
        x: Points, shape ``(N, d)``.
        t: Time, scalar or ``(N,)``.

    Returns:
        The drift, shape ``(N, d)``; integrate it with *decreasing* times.

    Raises:
        ValueError: If ``sde.noise_type`` is not ``"additive"`` (geometric Brownian motion).
    """
    check_points(x)
    _check_additive(sde)
    t = as_time(t, x)
    g = broadcast_time(sde.diffusion(t), x)
    return sde.drift(x, t) - g**2 * score(x, t)


def probability_flow_velocity(sde: SDE, score: Score) -> Callable[[Tensor, Tensor], Tensor]:
    """The probability-flow ODE's velocity as a ``velocity(x, t)`` callable, e.g. for an ODE solver."""

    def velocity(x: Tensor, t: Tensor) -> Tensor:
        return probability_flow_drift(sde, score, x, t)

    return velocity


@dataclass(frozen=True)
class ReverseSDE(SDE):
    r"""The reverse-time SDE of ``sde`` given the score of its marginals (Chapter 2).

    Simulate it with :func:`coursekit.sde.solvers.euler_maruyama` on a *decreasing* time grid,
    e.g. ``torch.linspace(1, 1e-3, 500)``: the solver then uses $|\Delta t|$ for the noise.

    Args:
        sde: The forward SDE (additive noise).
        score: $\nabla\log p_t(x)$ as ``score(x, t) -> (N, d)``.
    """

    sde: SDE
    score: Score

    def __post_init__(self) -> None:
        _check_additive(self.sde)

    def drift(self, x: Tensor, t: float | Tensor) -> Tensor:
        r"""$f(x,t) - g(t)^2\nabla\log p_t(x)$."""
        return reverse_sde_drift(self.sde, self.score, x, t)

    def diffusion(self, t: float | Tensor) -> Tensor:
        """The forward SDE's $g(t)$."""
        return self.sde.diffusion(t)
