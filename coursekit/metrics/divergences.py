r"""KL(data || model) from exact data log-densities, with its standard error (Chapters 3, 5, 9).

For a model with a likelihood $q$ (a CNF, a flow-matching model through its ODE) and data whose
density $p$ is known exactly (the toy datasets "8gaussians" and "checkerboard",
:func:`coursekit.data.toys.log_prob`),
$$\mathrm{KL}(p \,\|\, q) = \mathbb E_p[\log p(X) - \log q(X)] = \underbrace{-\mathbb E_p \log q(X)}_{\text{NLL}}
  - \underbrace{\big(-\mathbb E_p \log p(X)\big)}_{H(p)} \;\ge\; 0 .$$

**Estimator.** On $n$ held-out points $x_i \sim p$ (never used in training), take the *paired*
terms $D_i = \log p(x_i) - \log q(x_i)$ and
$$\widehat{\mathrm{KL}} = \frac1n\sum_i D_i = \widehat{\mathrm{NLL}} - \widehat H, \qquad
  \widehat{\mathrm{se}} = \frac{s_D}{\sqrt n}, \quad s_D^2 = \frac1{n-1}\sum_i (D_i - \widehat{\mathrm{KL}})^2 .$$
The estimate is unbiased; the standard error is that of a mean of i.i.d. terms (the central
limit theorem makes $\widehat{\mathrm{KL}} \pm 2\,\widehat{\mathrm{se}}$ a 95% interval for large $n$).
Pairing matters: $\log p(x_i)$ and $\log q(x_i)$ move together from point to point, so
$s_D$ is much smaller than the spread of either; subtracting an NLL and an entropy estimated on
*different* points would add both variances. For a model that matches the data exactly every
$D_i$ is zero, and so are the estimate and its error.

The NLL alone is not a quality scale (its value depends on the data's entropy, which differs from
dataset to dataset); the KL is: 0 means a perfect model, in nats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from coursekit.metrics.spread import Estimate

__all__ = ["KLEstimate", "kl_divergence", "toy_kl_divergence"]


@dataclass(frozen=True)
class KLEstimate:
    r"""Result of :func:`kl_divergence`: three estimates on the same $n$ points (Chapters 3, 5, 9).

    Attributes:
        kl: $\widehat{\mathrm{KL}}(p\,\|\,q)$ with its paired standard error, in nats.
        nll: $\widehat{\mathrm{NLL}} = -\frac1n\sum_i \log q(x_i)$ with its standard error.
        entropy: $\widehat H(p) = -\frac1n\sum_i \log p(x_i)$ with its standard error.
    """

    kl: Estimate
    nll: Estimate
    entropy: Estimate

    def to_dict(self) -> dict:
        """The three estimates as JSON-ready records.

        Returns:
            ``{"kl": ..., "nll": ..., "entropy": ...}``, each from :meth:`Estimate.to_dict`.
        """
        return {"kl": self.kl.to_dict(), "nll": self.nll.to_dict(), "entropy": self.entropy.to_dict()}

    def __str__(self) -> str:
        return f"KL = {self.kl} nats (NLL {self.nll} - H {self.entropy}, n = {self.kl.n})"


def kl_divergence(log_p: Tensor, log_q: Tensor) -> KLEstimate:
    r"""Paired estimate of $\mathrm{KL}(p\,\|\,q) = \mathrm{NLL} - H(p)$ on held-out data points (Chapters 3, 5, 9).

    $$\widehat{\mathrm{KL}} = \frac1n \sum_{i=1}^n \big(\log p(x_i) - \log q(x_i)\big), \qquad
      \widehat{\mathrm{se}} = \frac{s_D}{\sqrt n},$$
    where both log-densities are evaluated at the *same* points $x_i \sim p$ (see the module text).

    Args:
        log_p: Exact data log-density $\log p(x_i)$ at the held-out points, shape ``(n,)``, finite.
        log_q: Model log-density $\log q(x_i)$ at the same points, shape ``(n,)``; ``-inf`` where
            the model puts no mass (the KL is then infinite).

    Returns:
        :class:`KLEstimate` with the KL, the NLL and the entropy, each with its standard error.

    Raises:
        ValueError: If the shapes differ, are not ``(n,)``, or ``log_p`` is not finite (a point the
            data cannot produce: the points must be drawn from the data).

    Example:
        >>> log_p = torch.tensor([-1.0, -2.0, -3.0])
        >>> kl_divergence(log_p, log_p).kl.value  # the same density: exactly zero
        0.0
    """
    for value, name in ((log_p, "log_p"), (log_q, "log_q")):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape (n,), got {type(value).__name__}")
        if value.ndim != 1 or value.numel() == 0:
            raise ValueError(f"{name} must have shape (n,) with n >= 1, got shape {tuple(value.shape)}")
    if log_p.shape != log_q.shape:
        raise ValueError(
            f"log_p and log_q must be evaluated at the same points: shapes {tuple(log_p.shape)} "
            f"and {tuple(log_q.shape)} differ"
        )
    log_p, log_q = log_p.detach().double().cpu(), log_q.detach().double().cpu()
    bad = int((~torch.isfinite(log_p)).sum())
    if bad:
        raise ValueError(
            f"log_p is not finite at {bad} of {log_p.numel()} points: the held-out points must be "
            "drawn from the data (where its density is positive)"
        )
    if bool(torch.isnan(log_q).any()) or bool((log_q == math.inf).any()):
        raise ValueError("log_q contains NaN or +inf: the model's log-density is broken at some points")
    return KLEstimate(
        kl=Estimate.of_terms(log_p - log_q), nll=Estimate.of_terms(-log_q), entropy=Estimate.of_terms(-log_p)
    )


def toy_kl_divergence(name: str, x: Tensor, log_q: Tensor) -> KLEstimate:
    r"""$\mathrm{KL}(p_{\text{data}}\,\|\,q)$ for a toy dataset with an exact density (Chapters 3, 5, 9).

    Evaluates $\log p$ with :func:`coursekit.data.toys.log_prob` at the held-out points ``x`` and
    calls :func:`kl_divergence`.

    Args:
        name: A dataset of :mod:`coursekit.data.toys` with a closed-form density
            (:func:`coursekit.data.toys.has_log_prob`: "8gaussians", "checkerboard").
        x: Held-out points drawn from the dataset (not the training batches), shape ``(n, 2)``.
        log_q: The model's log-density at ``x``, shape ``(n,)``.

    Returns:
        :class:`KLEstimate`.

    Raises:
        ValueError: If the dataset has no closed-form density.

    Example:
        >>> from coursekit.data import toys
        >>> x = toys.sample("checkerboard", 100, generator=torch.Generator().manual_seed(0))
        >>> toy_kl_divergence("checkerboard", x, torch.full((100,), -math.log(32))).kl.value
        0.0
    """
    from coursekit.data import toys

    if not toys.has_log_prob(name):
        valid = [d for d in toys.DATASETS if toys.has_log_prob(d)]
        raise ValueError(f"dataset {name!r} has no closed-form density, so no exact KL; datasets with one: {valid}")
    return kl_divergence(toys.log_prob(name, x), log_q)
