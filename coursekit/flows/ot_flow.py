r"""OT-Flow: a potential $\Phi(x, t)$ with an exact gradient and Laplacian, and its loss (Chapter 4).

Regularising a CNF with the kinetic energy makes it an optimal-transport problem
(Benamou-Brenier), whose optimal velocity is a gradient, $v = -\nabla\Phi$, with $\Phi$ solving the
Hamilton-Jacobi-Bellman equation $-\partial_t\Phi + \frac12\|\nabla\Phi\|^2 = 0$. OT-Flow
(Onken et al. 2021) learns $\Phi$ directly, with $s = (x, t) \in \mathbb R^{d+1}$:
$$\Phi(s) = w^\top N(s) + \tfrac12 s^\top A^\top A\, s + b^\top s + c,\qquad
  u_0 = \sigma(K_0 s + b_0),\quad u_i = u_{i-1} + h\,\sigma(K_i u_{i-1} + b_i),\quad N(s) = u_{M-1},$$
with $\sigma(a) = \log(e^a + e^{-a})$, so $\sigma' = \tanh$, $\sigma'' = 1 - \tanh^2$, and $h = 1/(M-1)$.
The gradient is one backward sweep, $z_{M-1} = w$, $z_{i-1} = z_i + h K_i^\top(\sigma'(a_i) \odot z_i)$,
$\nabla_s (w^\top N) = K_0^\top(\sigma'(a_0)\odot z_0)$; the Laplacian in $x$ is a forward sweep of
Jacobians $J_i = \partial u_i / \partial x$ ($m \times d$):
$$\Delta\Phi = \sum_j \sigma''(a_0)_j z_{0,j} \|(K_0 E)_j\|^2
  + h\sum_{i\ge1}\sum_j \sigma''(a_i)_j z_{i,j}\|(K_i J_{i-1})_j\|^2 + \operatorname{tr}(E^\top A^\top A E),$$
($E$ selects the $d$ space coordinates), $O(m^2 d)$ per point, with no backward pass per dimension.
Along $\dot x = -\nabla\Phi$ the flow integrates $[x, \ell, L, R]$ with
$\dot\ell = -\Delta\Phi$, $\dot L = \frac12\|\nabla\Phi\|^2$, $\dot R = |\partial_t\Phi - \frac12\|\nabla\Phi\|^2|$,
and trains on $\mathrm{NLL} + \alpha_1 L + \alpha_2 R$ with fixed RK4 steps.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import cast

import torch
from torch import Tensor, nn

from coursekit._shapes import as_time, check_points, check_positive_int
from coursekit.flows.cnf import CNFSamples, sample as _cnf_sample
from coursekit.flows.likelihood import LikelihoodResult, augmented_dynamics, integrate_log_likelihood
from coursekit.sde.time_grids import uniform_grid

__all__ = [
    "OTFlowObjective",
    "OTFlowResult",
    "Potential",
    "activation",
    "augmented_velocity",
    "integrate_flow",
    "ot_flow_loss",
    "ot_flow_objective",
    "potential_field",
    "potential_gradient",
    "potential_laplacian",
    "sample",
]


def activation(a: Tensor) -> Tensor:
    r"""$\sigma(a) = \log(e^a + e^{-a}) = |a| + \log(1 + e^{-2|a|})$, the antiderivative of $\tanh$ (Chapter 4)."""
    return a.abs() + torch.log1p(torch.exp(-2 * a.abs()))


class Potential(nn.Module):
    r"""OT-Flow's potential $\Phi(x, t)$: a ResNet of width $m$ plus a quadratic (Chapter 4).

    Args:
        dim: Data dimension $d$.
        width: Width $m$ of the ResNet.
        layers: Number $M$ of ResNet layers (the opening layer and $M - 1$ residual ones).
        rank: Rank $r \le d + 1$ of $A$ in the quadratic term.

    Attributes: ``opening`` (``Linear(d+1, m)``, $K_0, b_0$), ``residual`` (``M - 1`` ``Linear(m, m)``),
    ``step`` ($h$), ``w`` $(m,)$, ``A`` $(r, d+1)$, ``b`` $(d+1,)$, ``c`` $()$.
    """

    def __init__(self, dim: int, width: int = 32, layers: int = 2, rank: int = 10) -> None:
        super().__init__()
        for value, name in ((dim, "dim"), (width, "width"), (layers, "layers"), (rank, "rank")):
            check_positive_int(value, name)
        self.dim, self.width = dim, width
        self.opening = nn.Linear(dim + 1, width)
        self.residual = nn.ModuleList(nn.Linear(width, width) for _ in range(layers - 1))
        self.step = 1.0 / (layers - 1) if layers > 1 else 0.0
        self.w = nn.Parameter(torch.ones(width))
        self.A = nn.Parameter(torch.empty(min(rank, dim + 1), dim + 1))
        nn.init.xavier_uniform_(self.A)
        self.b = nn.Parameter(torch.zeros(dim + 1))
        self.c = nn.Parameter(torch.zeros(()))

    def _input(self, x: Tensor, t: float | Tensor) -> Tensor:
        check_points(x, dim=self.dim)
        t = as_time(t, x)
        return torch.cat([x, t.expand(x.shape[0])[:, None]], dim=1)  # s = (x, t), (N, d + 1)

    def forward(self, x: Tensor, t: float | Tensor = 0.0) -> Tensor:
        r"""$\Phi(x, t)$ for ``x`` of shape ``(N, d)`` and ``t`` scalar or ``(N,)``; returns ``(N,)``."""
        s = self._input(x, t)
        u = activation(self.opening(s))  # (N, m)
        for layer in self.residual:
            u = u + self.step * activation(layer(u))
        quadratic = 0.5 * ((s @ self.A.T) ** 2).sum(1)  # 1/2 s^T A^T A s
        return u @ self.w + quadratic + s @ self.b + self.c

    def grad_and_laplacian(self, x: Tensor, t: float | Tensor = 0.0) -> tuple[Tensor, Tensor]:
        r"""$\nabla_s\Phi$ (space and time) and $\Delta_x\Phi$ together, in $O(m^2 d)$ per point.

        Args:
            x: Points, shape ``(N, d)``.
            t: Time, scalar or ``(N,)``.

        Returns:
            The gradient, shape ``(N, d + 1)`` (last column $\partial_t\Phi$), and the Laplacian, ``(N,)``.
        """
        s = self._input(x, t)
        d, k0 = self.dim, self.opening.weight  # K_0: (m, d + 1)
        pre = [self.opening(s)]  # a_0, then a_1, ...; shapes (N, m)
        u = activation(pre[0])
        for layer in self.residual:
            pre.append(layer(u))
            u = u + self.step * activation(pre[-1])
        # backward sweep: z_i = d(w^T N)/du_i, from z_{M-1} = w down to z_0
        z = [self.w.expand_as(u)]
        for layer, a in zip(reversed(self.residual), reversed(pre[1:]), strict=True):
            z.insert(0, z[0] + self.step * (torch.tanh(a) * z[0]) @ cast(Tensor, layer.weight))
        grad = (torch.tanh(pre[0]) * z[0]) @ k0 + s @ (self.A.T @ self.A) + self.b  # (N, d + 1)
        # forward sweep of the Jacobians J_i = du_i/dx, (N, m, d), and the trace terms
        second = 1 - torch.tanh(pre[0]) ** 2  # sigma''(a_0)
        lap = (second * z[0]) @ (k0[:, :d] ** 2).sum(1)  # (N,)
        jac = torch.tanh(pre[0])[:, :, None] * k0[None, :, :d]  # (N, m, d)
        for i, layer in enumerate(self.residual, start=1):
            kj = torch.einsum("jk,nkd->njd", layer.weight, jac)  # K_i J_{i-1}, (N, m, d)
            lap = lap + self.step * ((1 - torch.tanh(pre[i]) ** 2) * z[i] * (kj**2).sum(2)).sum(1)
            jac = jac + self.step * torch.tanh(pre[i])[:, :, None] * kj
        lap = lap + (self.A[:, :d] ** 2).sum()  # trace of the quadratic term's Hessian in x
        return grad, lap

    def velocity(self, x: Tensor, t: float | Tensor = 0.0) -> Tensor:
        r"""$v(x, t) = -\nabla_x\Phi(x, t)$, shape ``(N, d)``."""
        return -self.grad_and_laplacian(x, t)[0][:, : self.dim]


def potential_gradient(potential: Potential, x: Tensor, t: float | Tensor) -> Tensor:
    r"""$\nabla_s\Phi(x, t)$ with $s = (x, t)$, shape ``(N, d + 1)`` (Chapter 4)."""
    return potential.grad_and_laplacian(x, t)[0]


def potential_laplacian(potential: Potential, x: Tensor, t: float | Tensor) -> Tensor:
    r"""$\Delta_x\Phi(x, t) = \operatorname{tr}\nabla_x^2\Phi$, shape ``(N,)`` (Chapter 4)."""
    return potential.grad_and_laplacian(x, t)[1]


def potential_field(potential: Potential, x: Tensor, t: float | Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r"""OT-Flow's field for the likelihood solve: $v$, $\nabla\cdot v$ and the two running costs (Chapter 4).

    $$v = -\nabla_x\Phi,\quad \nabla\cdot v = -\Delta_x\Phi,\quad
      c = \big(\tfrac12\|\nabla_x\Phi\|^2,\ \big|\partial_t\Phi - \tfrac12\|\nabla_x\Phi\|^2\big|\big),$$
    all from one call of :meth:`Potential.grad_and_laplacian` (no backward pass per dimension).

    Args:
        potential: $\Phi$.
        x: Points, shape ``(N, d)``.
        t: Time, a scalar.

    Returns:
        ``(v, div, costs)`` with shapes ``(N, d)``, ``(N,)`` and ``(N, 2)`` (kinetic rate, HJB residual).
    """
    d = potential.dim
    grad, lap = potential.grad_and_laplacian(x, t)
    kinetic = 0.5 * (grad[:, :d] ** 2).sum(1)  # (N,)
    hjb = (grad[:, d] - kinetic).abs()
    return -grad[:, :d], -lap, torch.stack([kinetic, hjb], dim=1)


def augmented_velocity(potential: Potential, state: Tensor, t: float | Tensor) -> Tensor:
    r"""OT-Flow's augmented dynamics $\frac{d}{dt}[x, \ell, L, R]$ (Chapter 4).

    $$\dot x = -\nabla_x\Phi,\quad \dot\ell = -\Delta_x\Phi\ (= \nabla\cdot v),\quad
      \dot L = \tfrac12\|\nabla_x\Phi\|^2,\quad \dot R = \big|\partial_t\Phi - \tfrac12\|\nabla_x\Phi\|^2\big|.$$

    This is :func:`coursekit.flows.likelihood.augmented_dynamics` of :func:`potential_field`.

    Args:
        potential: $\Phi$.
        state: $[x, \ell, L, R]$, shape ``(N, d + 3)``.
        t: Time, a scalar.

    Returns:
        The time derivative of the state, shape ``(N, d + 3)``.
    """
    check_points(state, "state", dim=potential.dim + 3)
    return augmented_dynamics(lambda x, s: potential_field(potential, x, s), state, t, dim=potential.dim)


class OTFlowResult(LikelihoodResult):
    r"""Result of :func:`integrate_flow`: a :class:`coursekit.flows.likelihood.LikelihoodResult` with OT-Flow's costs.

    ``log_prob`` is $\log\mathcal N(x_1) + \ell_1$, ``x_noise`` the end points $x_1$, ``trajectory`` the
    states $x$ along the solve ``(T+1, N, d)``, ``running_costs`` the ``(N, 2)`` integrals $(L, R)$, also
    given by name as ``kinetic`` and ``hjb``.
    """

    @property
    def kinetic(self) -> Tensor:
        r"""$L = \int_0^1 \frac12\|v\|^2 dt$, shape ``(N,)``."""
        assert self.running_costs is not None  # integrate_flow always sets them
        return self.running_costs[:, 0]

    @property
    def hjb(self) -> Tensor:
        r"""$R = \int_0^1 |\partial_t\Phi - \frac12\|\nabla\Phi\|^2| dt$, shape ``(N,)``."""
        assert self.running_costs is not None
        return self.running_costs[:, 1]


def integrate_flow(potential: Potential, x: Tensor, *, n_steps: int = 8, method: str = "rk4") -> OTFlowResult:
    r"""Integrate $[x, \ell, L, R]$ from the data at $t = 0$ to $t = 1$ with ``n_steps`` fixed steps (Chapter 4).

    The likelihood solve of :func:`coursekit.flows.likelihood.integrate_log_likelihood` with the field
    :func:`potential_field`: $\log p_\theta(x) = \log\mathcal N(x_1; 0, I) + \ell_1$.

    Args:
        potential: $\Phi$.
        x: Data, shape ``(N, d)``.
        n_steps: Number of steps of ``method`` (OT-Flow: 8 RK4 steps in training).
        method: A fixed-step method of :func:`coursekit.flows.ode.integrate`.

    Returns:
        :class:`OTFlowResult` (differentiable in the parameters of ``potential``).
    """
    check_points(x, dim=potential.dim)
    t_grid = uniform_grid(0.0, 1.0, n_steps, like=x)
    result = integrate_log_likelihood(
        lambda y, t: potential_field(potential, y, t), x, t_grid, n_costs=2, method=method, enable_grad=True
    )
    return OTFlowResult(**{f.name: getattr(result, f.name) for f in fields(result)})


@dataclass(frozen=True)
class OTFlowObjective:
    r"""OT-Flow's objective on a minibatch and its three terms, all 0-d tensors on the data's device (Chapter 4).

    Attributes:
        loss: $J = \mathrm{NLL} + \alpha_1 L + \alpha_2 R$, differentiable in the potential's parameters.
        nll: $\mathbb E[-\log p_\theta(x)]$ in nats (detached).
        kinetic: $\mathbb E[L]$, the mean kinetic energy (detached).
        hjb: $\mathbb E[R]$, the mean HJB residual (detached).

    The terms stay tensors so that a training loop can log them without a host-device
    synchronisation per step: call ``float(...)`` only when printing.
    """

    loss: Tensor
    nll: Tensor
    kinetic: Tensor
    hjb: Tensor


def ot_flow_objective(
    potential: Potential, x: Tensor, *, alpha: tuple[float, float] = (0.01, 0.05), n_steps: int = 8
) -> OTFlowObjective:
    r"""$J = \mathbb E[-\log p_\theta(x)] + \alpha_1\,\mathbb E[L] + \alpha_2\,\mathbb E[R]$ and its terms (Chapter 4).

    The defaults are OT-Flow's toy-problem weights: its code weighs $(L, \mathrm{NLL}, R)$ by
    $(1, 100, 5)$, which is $(\alpha_1, \alpha_2) = (0.01, 0.05)$ relative to the NLL (Adam does
    not care about the overall scale). A weight of 100 on $L$ instead freezes the flow at $v = 0$.

    Args:
        potential: $\Phi$.
        x: Data minibatch, shape ``(N, d)``.
        alpha: Weights $(\alpha_1, \alpha_2)$ of the kinetic energy $L$ and the HJB residual $R$.
        n_steps: RK4 steps (8 in OT-Flow's training).

    Returns:
        :class:`OTFlowObjective`: the loss (0-d, differentiable) and the mean NLL, $L$ and $R$ (0-d, detached).
    """
    if len(alpha) != 2:
        raise ValueError(f"alpha must be the two weights (alpha_1, alpha_2) of L and R, got {alpha!r}")
    result = integrate_flow(potential, x, n_steps=n_steps)
    nll, kinetic, hjb = -result.log_prob.mean(), result.kinetic.mean(), result.hjb.mean()
    loss = nll + alpha[0] * kinetic + alpha[1] * hjb
    return OTFlowObjective(loss, nll.detach(), kinetic.detach(), hjb.detach())


def ot_flow_loss(
    potential: Potential, x: Tensor, *, alpha: tuple[float, float] = (0.01, 0.05), n_steps: int = 8
) -> Tensor:
    r"""OT-Flow's loss $J = \mathbb E[-\log p_\theta(x)] + \alpha_1\,\mathbb E[L] + \alpha_2\,\mathbb E[R]$ (Chapter 4).

    The ``.loss`` of :func:`ot_flow_objective`, which takes the same arguments (the potential, a data
    minibatch of shape ``(N, d)``, the weights, the RK4 steps) and also returns the three terms.
    Returns a 0-d tensor, differentiable in the parameters of ``potential``.
    """
    return ot_flow_objective(potential, x, alpha=alpha, n_steps=n_steps).loss


def sample(potential: Potential, x_noise: Tensor, *, n_steps: int = 8, method: str = "rk4") -> CNFSamples:
    r"""Generate with $\dot x = -\nabla\Phi(x, t)$ from $t = 1$ back to $t = 0$ (Chapter 4).

    Args:
        potential: $\Phi$.
        x_noise: Points at $t = 1$, shape ``(N, d)``.
        n_steps: Fixed steps of ``method``.
        method: A method of :func:`coursekit.flows.ode.integrate`.

    Returns:
        :class:`coursekit.flows.cnf.CNFSamples`.
    """
    return _cnf_sample(potential.velocity, x_noise, n_steps=n_steps, method=method)
