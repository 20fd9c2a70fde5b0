r"""Flow matching: the linear path, the CFM loss, minibatch-OT couplings, the ideal velocity (Chapter 5).

The course's time runs from data ($t = 0$) to noise ($t = 1$). A pair $(x_{\text{data}}, x_{\text{noise}})$
with $x_{\text{noise}} \sim \mathcal N(0, I)$ defines the straight conditional path and its velocity
$$x_t = (1 - t)\,x_{\text{data}} + t\,x_{\text{noise}}, \qquad
  u_t(x_t \mid x_{\text{data}}, x_{\text{noise}}) = x_{\text{noise}} - x_{\text{data}}.$$
The marginal velocity that moves the whole distribution is the conditional expectation
$u_t(x) = \mathbb E[x_{\text{noise}} - x_{\text{data}} \mid x_t = x]$, and regressing a network on the
conditional target (the CFM loss) learns it. Samples come from integrating $\dot x = v_\theta(x, t)$
backwards, from $t = 1$ (noise) to $t = 0$ (data).

Lipman et al. (2023) and the ``flow_matching``/``torchcfm`` libraries put noise at $t = 0$; their
velocity is ours reversed: $u^{\text{ours}}_t(x) = -u^{\text{theirs}}_{1-t}(x)$.

References: Lipman et al. (2023), Flow Matching for Generative Modeling; Tong et al. (2023),
Improving and generalizing flow-based generative models with minibatch optimal transport;
Liu et al. (2022), Flow straight and fast (rectified flow).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from coursekit._choices import check_choice
from coursekit._shapes import broadcast_time, check_points, check_positive, check_positive_int
from coursekit.flows.couplings import COUPLINGS, check_pair, ot_coupling
from coursekit.flows.marginal_velocity import ideal_velocity
from coursekit.flows.ode import Solution, euler, integrate
from coursekit.rng import rand, randn
from coursekit.sde.time_grids import uniform_grid

__all__ = [
    "COUPLINGS",
    "FlowSamples",
    "PathSample",
    "cfm_loss",
    "conditional_velocity",
    "ideal_velocity",
    "linear_path",
    "ot_coupling",
    "sample",
    "sample_path",
]

Velocity = Callable[[Tensor, Tensor], Tensor]


def linear_path(x_data: Tensor, x_noise: Tensor, t: float | Tensor) -> Tensor:
    r"""Point $x_t = (1 - t)\,x_{\text{data}} + t\,x_{\text{noise}}$ of the straight path (Chapter 5, exercise).

    Args:
        x_data: Data endpoints ($t = 0$), shape ``(N, d)``.
        x_noise: Noise endpoints ($t = 1$), shape ``(N, d)``.
        t: Times in $[0, 1]$, a number or shape ``(N,)``.

    Returns:
        $x_t$, shape ``(N, d)``.

    Example:
        >>> linear_path(torch.zeros(2, 2), torch.ones(2, 2), torch.tensor([0.25, 1.0]))
        tensor([[0.2500, 0.2500],
                [1.0000, 1.0000]])
    """
    check_pair(x_data, x_noise)
    t = broadcast_time(t, x_data)  # () or (N,) -> (1, 1) or (N, 1)
    return (1 - t) * x_data + t * x_noise


def conditional_velocity(x_data: Tensor, x_noise: Tensor) -> Tensor:
    r"""Velocity $\frac{d}{dt}x_t = x_{\text{noise}} - x_{\text{data}}$ of the straight path (Chapter 5).

    It does not depend on $t$: the conditional paths are straight lines at constant speed.

    Args:
        x_data: Data endpoints, shape ``(N, d)``.
        x_noise: Noise endpoints, shape ``(N, d)``.

    Returns:
        The regression target of the CFM loss, shape ``(N, d)``.
    """
    check_pair(x_data, x_noise)
    return x_noise - x_data


@dataclass(frozen=True)
class PathSample:
    r"""A minibatch of points on conditional paths, drawn by :func:`sample_path`.

    Attributes:
        x_data: Data endpoints, shape ``(N, d)``.
        x_noise: Noise endpoints (after the coupling), shape ``(N, d)``.
        t: Times, shape ``(N,)``.
        x_t: Points on the paths, shape ``(N, d)``.
        target: Conditional velocity $x_{\text{noise}} - x_{\text{data}}$, shape ``(N, d)``.
    """

    x_data: Tensor
    x_noise: Tensor
    t: Tensor
    x_t: Tensor
    target: Tensor


def sample_path(
    x_data: Tensor,
    *,
    coupling: str = "independent",
    x_noise: Tensor | None = None,
    t: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> PathSample:
    r"""Draw $x_{\text{noise}} \sim \mathcal N(0, I)$, $t \sim U(0, 1)$ and the point $x_t$ of each path (Chapter 5).

    Randomness: ``x_noise`` is drawn first (``randn(N, d)``), then ``t`` (``rand(N)``), both from
    ``generator`` and on its device, then moved to ``x_data``'s device. With ``coupling="ot"`` the noise
    is re-paired by :func:`ot_coupling`; ``t[i]`` stays with ``x_data[i]``.

    Args:
        x_data: Data minibatch, shape ``(N, d)``.
        coupling: ``"independent"`` (I-CFM) or ``"ot"`` (OT-CFM, exact minibatch OT).
        x_noise: Noise to use instead of drawing it, shape ``(N, d)``.
        t: Times to use instead of drawing them, shape ``(N,)`` or a number.
        generator: Source of randomness for what is drawn.

    Returns:
        A :class:`PathSample` with every field of batch size ``N``.
    """
    check_points(x_data, "x_data")
    check_choice(coupling, COUPLINGS, "coupling")
    n, d = x_data.shape
    if x_noise is None:
        x_noise = randn((n, d), generator=generator, device=x_data.device, dtype=x_data.dtype)
    check_pair(x_data, x_noise)
    if t is None:
        t = rand((n,), generator=generator, device=x_data.device, dtype=x_data.dtype)
    t = broadcast_time(t, x_data).reshape(-1).expand(n)  # validated; () or (N,) -> (N,)
    if coupling == "ot":
        x_noise = x_noise[ot_coupling(x_data, x_noise)]
    return PathSample(x_data, x_noise, t, linear_path(x_data, x_noise, t), conditional_velocity(x_data, x_noise))


def cfm_loss(
    velocity: Velocity,
    x_data: Tensor,
    *,
    coupling: str = "independent",
    x_noise: Tensor | None = None,
    t: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Conditional flow-matching loss on a minibatch (Chapter 5, exercise).

    $$\mathcal L_{\text{CFM}}(\theta) = \mathbb E_{t,\,(x_{\text{data}}, x_{\text{noise}})}
      \big\|v_\theta(x_t, t) - (x_{\text{noise}} - x_{\text{data}})\big\|^2,
      \qquad x_t = (1 - t)\,x_{\text{data}} + t\,x_{\text{noise}},$$
    estimated by the batch mean of the squared norm (summed over the $d$ coordinates).
    Its gradient equals that of $\mathbb E\|v_\theta(x_t, t) - u_t(x_t)\|^2$ with the marginal
    velocity $u_t$, so its minimiser is $u_t$. ``coupling="independent"`` is I-CFM,
    ``"ot"`` pairs the minibatch by exact OT first (OT-CFM, Tong et al. 2023).

    Args:
        velocity: The model $v_\theta(x, t)$, ``(N, d), (N,) -> (N, d)``.
        x_data: Data minibatch, shape ``(N, d)``.
        coupling: ``"independent"`` or ``"ot"``.
        x_noise: Noise to use instead of drawing it, shape ``(N, d)`` (for exact checks).
        t: Times to use instead of drawing them, shape ``(N,)``.
        generator: Source of randomness; ``x_noise`` is drawn before ``t`` (see :func:`sample_path`).

    Returns:
        The loss, a 0-d tensor (differentiable through ``velocity``).

    Example:
        >>> x = torch.zeros(3, 2); z = torch.ones(3, 2)
        >>> cfm_loss(lambda x, t: torch.ones_like(x), x, x_noise=z, t=torch.rand(3))
        tensor(0.)
    """
    path = sample_path(x_data, coupling=coupling, x_noise=x_noise, t=t, generator=generator)
    prediction = velocity(path.x_t, path.t)
    if not isinstance(prediction, Tensor) or prediction.shape != path.x_t.shape:
        shape = tuple(prediction.shape) if isinstance(prediction, Tensor) else type(prediction).__name__
        raise ValueError(f"velocity(x, t) must return shape {tuple(path.x_t.shape)}, got {shape}")
    return ((prediction - path.target) ** 2).sum(dim=1).mean()


FlowSamples = Solution
"""Result of :func:`sample`: the course's one result type :class:`coursekit.flows.ode.Solution` under its
Chapter 5 name, ``FlowSamples(samples, nfe, trajectory, t_grid)``: the generated points at ``t_end``
``(N, d)``, the NFE, the states on ``t_grid`` ``(T+1, N, d)`` (time first) and the output times from 1
down to ``t_end``, ``(T+1,)``."""


def sample(
    velocity: Velocity,
    x_noise: Tensor,
    *,
    n_steps: int | None = None,
    method: str = "dopri5",
    rtol: float = 1e-5,
    atol: float = 1e-5,
    t_end: float = 0.0,
    n_save: int = 1,
    enable_grad: bool = False,
) -> FlowSamples:
    r"""Generate by integrating $\dot x = v(x, t)$ from noise at $t = 1$ back to data at ``t_end`` (Chapter 5).

    With ``n_steps`` this is Euler's method on a uniform grid, NFE $=$ ``n_steps``; otherwise an
    adaptive (or fixed-step) solve through :func:`coursekit.flows.ode.integrate`, whose NFE is counted.

    Args:
        velocity: $v(x, t)$, ``(N, d), () -> (N, d)``.
        x_noise: Starting points at $t = 1$, shape ``(N, d)``.
        n_steps: Number of Euler steps; ``None`` uses ``method``.
        method: A method of :func:`coursekit.flows.ode.integrate` (``"dopri5"``, ``"rk4"``, ...).
        rtol: Relative tolerance of an adaptive method.
        atol: Absolute tolerance of an adaptive method.
        t_end: Final time in $[0, 1)$; use a small positive value for :func:`ideal_velocity`.
        n_save: For the ``method`` solve, the number of uniform intervals of the saved trajectory
            (the solver steps to each saved time, so more costs a few NFE).
        enable_grad: Keep the autograd graph (off by default: sampling needs no gradients).

    Returns:
        :class:`FlowSamples` with the samples ``(N, d)``, the NFE and the trajectory ``(T+1, N, d)``.

    Example:
        >>> out = sample(lambda x, t: x, torch.ones(2, 1), n_steps=4)
        >>> out.nfe, round(float(out.samples[0, 0]), 4)
        (4, 0.3164)
    """
    check_points(x_noise, "x_noise")
    t_end = float(t_end)
    if not 0.0 <= t_end < 1.0:
        raise ValueError(f"t_end must lie in [0, 1), got {t_end}")
    with torch.set_grad_enabled(enable_grad):
        if n_steps is not None:
            t_grid = uniform_grid(1.0, t_end, n_steps, like=x_noise)
            trajectory, nfe = euler(velocity, x_noise, t_grid, enable_grad=enable_grad), n_steps
        else:
            check_positive(rtol, "rtol")
            check_positive(atol, "atol")
            check_positive_int(n_save, "n_save")
            t_grid = uniform_grid(1.0, t_end, n_save, like=x_noise)
            solution = integrate(
                velocity, x_noise, t_grid, method=method, rtol=rtol, atol=atol, enable_grad=enable_grad
            )
            assert solution.trajectory is not None  # integrate always keeps it
            trajectory, nfe = solution.trajectory, solution.nfe
    return FlowSamples(samples=trajectory[-1], nfe=nfe, trajectory=trajectory, t_grid=t_grid)
