r"""Divergence of a vector field by autograd: exact trace or Hutchinson's estimator (Chapters 3, 6).

The instantaneous change of variables $\frac{d}{dt}\log p_t(x_t) = -\nabla\cdot v_t(x_t)$ needs the
divergence $\nabla\cdot f(x) = \operatorname{tr} \frac{\partial f}{\partial x}$ at every point.

* :func:`exact_divergence` sums the diagonal of the Jacobian, one backward pass per dimension:
  cost $O(d)$ passes, exact.
* :func:`hutchinson_divergence` uses $\operatorname{tr} J = \mathbb E[z^\top J z]$ for probes with
  $\mathbb E[z z^\top] = I$ (Rademacher or Gaussian), one vector-Jacobian product per probe:
  unbiased, with variance that grows with $d$ (Hutchinson 1989; FFJORD, Grathwohl et al. 2018).

Both take ``f(x) -> (N, d)`` acting row by row (close over ``t`` to differentiate ``v(x, t)``) and
return a divergence per point, shape ``(N,)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from coursekit._choices import check_choice
from coursekit._shapes import check_points, check_positive_int
from coursekit.rng import randint, randn

__all__ = ["exact_divergence", "hutchinson_divergence", "probe_estimate", "sample_probes", "trace_of_jacobian"]

Field = Callable[[Tensor], Tensor]
_DISTRIBUTIONS = ("rademacher", "gaussian")


def _evaluate(f: Field, x: Tensor) -> tuple[Tensor, Tensor]:
    """Return ``(x, f(x))`` with ``x`` part of the graph (a leaf with grad if it was not)."""
    check_points(x)
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    out = f(x)
    if not isinstance(out, Tensor) or out.shape != x.shape:
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"f(x) must have the shape of x {tuple(x.shape)}, got {shape}")
    return x, out


def trace_of_jacobian(out: Tensor, x: Tensor, *, create_graph: bool = False) -> Tensor:
    r"""$\sum_i \partial f_i/\partial x_i$ given ``out = f(x)`` already computed, shape ``(N,)``."""
    div = torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
    if not out.requires_grad:  # f does not depend on x (a constant field): zero divergence
        return div
    for i in range(x.shape[1]):  # one backward pass per dimension
        (grad,) = torch.autograd.grad(out[:, i].sum(), x, create_graph=create_graph, retain_graph=True)
        div = div + grad[:, i]
    return div


def probe_estimate(out: Tensor, x: Tensor, probes: Tensor, *, create_graph: bool = False) -> Tensor:
    r"""$\frac1K\sum_k z_k^\top \frac{\partial f}{\partial x} z_k$ given ``out = f(x)`` and probes ``(K, N, d)``.

    Returns shape ``(N,)``.
    """
    est = torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
    if not out.requires_grad:  # f does not depend on x: zero divergence
        return est
    for z in probes:  # one vector-Jacobian product per probe
        (vjp,) = torch.autograd.grad(out, x, grad_outputs=z, create_graph=create_graph, retain_graph=True)
        est = est + (vjp * z).sum(1)
    return est / probes.shape[0]


def sample_probes(
    shape: tuple[int, ...],
    *,
    distribution: str = "rademacher",
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    r"""Draw Hutchinson probes $z$ with $\mathbb E[z] = 0$, $\mathbb E[z z^\top] = I$ (Chapters 3, 6).

    Args:
        shape: Shape of the probes, e.g. ``(K, N, d)``.
        distribution: ``"rademacher"`` (entries $\pm 1$, the lower-variance choice) or ``"gaussian"``.
        generator: Source of randomness.
        device: Device of the result.
        dtype: Floating dtype of the result.

    Returns:
        Probes of shape ``shape``.
    """
    check_choice(distribution, _DISTRIBUTIONS, "probe distribution")
    if distribution == "gaussian":
        return randn(shape, generator=generator, device=device, dtype=dtype)
    bits = randint(0, 2, shape, generator=generator, device=device)
    return (2 * bits - 1).to(dtype or torch.get_default_dtype())


def exact_divergence(f: Field, x: Tensor, *, create_graph: bool = False) -> Tensor:
    r"""Exact divergence $\nabla\cdot f(x) = \sum_{i=1}^d \partial f_i/\partial x_i$ by autograd (Chapters 3, 6).

    Costs $d$ backward passes. ``f`` must act row by row (point $n$'s output depends only on
    point $n$), as every vector field of the course does.

    Args:
        f: The field, ``(N, d) -> (N, d)``.
        x: Points, shape ``(N, d)``.
        create_graph: Keep the graph of the result (to train through it).

    Returns:
        The divergence, shape ``(N,)``.

    Example:
        >>> exact_divergence(lambda x: 3 * x, torch.zeros(2, 4))
        tensor([12., 12.])
    """
    with torch.enable_grad():
        x, out = _evaluate(f, x)
        div = trace_of_jacobian(out, x, create_graph=create_graph)
    return div if create_graph else div.detach()


def hutchinson_divergence(
    f: Field,
    x: Tensor,
    *,
    n_probes: int = 1,
    distribution: str = "rademacher",
    generator: torch.Generator | None = None,
    probes: Tensor | None = None,
    create_graph: bool = False,
) -> Tensor:
    r"""Hutchinson's unbiased estimate of $\nabla\cdot f(x)$ (Chapters 3, 6).

    $$\nabla\cdot f(x) = \mathbb E_z\big[z^\top \tfrac{\partial f}{\partial x}(x)\, z\big]
      \approx \frac1K \sum_{k=1}^K z_k^\top \tfrac{\partial f}{\partial x}(x)\, z_k.$$

    Costs one vector-Jacobian product per probe, whatever $d$.

    Args:
        f: The field, ``(N, d) -> (N, d)``, acting row by row.
        x: Points, shape ``(N, d)``.
        n_probes: Number of probes $K$ per point.
        distribution: ``"rademacher"`` or ``"gaussian"``.
        generator: Source of randomness for the probes.
        probes: Optional fixed probes, shape ``(K, N, d)`` (FFJORD keeps them fixed along an ODE solve).
        create_graph: Keep the graph of the result.

    Returns:
        The estimate, shape ``(N,)``.
    """
    check_points(x)
    if probes is None:
        check_positive_int(n_probes, "n_probes")
        probes = sample_probes(
            (n_probes, *x.shape), distribution=distribution, generator=generator, device=x.device, dtype=x.dtype
        )
    elif probes.ndim != 3 or probes.shape[1:] != x.shape:
        raise ValueError(f"probes must have shape (K, N, d) with (N, d) = {tuple(x.shape)}, got {tuple(probes.shape)}")
    with torch.enable_grad():
        x, out = _evaluate(f, x)
        est = probe_estimate(out, x, probes.to(x), create_graph=create_graph)
    return est if create_graph else est.detach()
