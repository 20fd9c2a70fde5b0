r"""Optimal transport between two Gaussians in closed form: the check for OT-Flow (Chapter 4).

For $\mu_0 = \mathcal N(m_0, \Sigma_0)$ and $\mu_1 = \mathcal N(m_1, \Sigma_1)$ with $\Sigma_0 \succ 0$, the
optimal map for the squared distance (Brenier's map, the gradient of a convex function) is affine,
$$T(x) = m_1 + A\,(x - m_0),\qquad
  A = \Sigma_0^{-1/2}\big(\Sigma_0^{1/2}\,\Sigma_1\,\Sigma_0^{1/2}\big)^{1/2}\Sigma_0^{-1/2},$$
with $A$ symmetric positive definite, $A\Sigma_0 A = \Sigma_1$, and
$$W_2^2(\mu_0, \mu_1) = \|m_0 - m_1\|^2
  + \operatorname{tr}\big(\Sigma_0 + \Sigma_1 - 2(\Sigma_0^{1/2}\Sigma_1\Sigma_0^{1/2})^{1/2}\big).$$
Other linear maps push $\mu_0$ to $\mu_1$ too (e.g. $L_1 L_0^{-1}$ with Cholesky factors), but only
the symmetric positive definite one is optimal. The displacement interpolation $x_t = (1 - t)x + t\,T(x)$ moves every
particle on a straight line at constant speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["GaussianOTMap", "gaussian_w2_squared", "ot_map_matrix", "sqrtm_psd"]


def _check_cov(cov: Tensor, name: str) -> Tensor:
    if not isinstance(cov, Tensor) or cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        shape = tuple(cov.shape) if isinstance(cov, Tensor) else type(cov).__name__
        raise ValueError(f"{name} must be a square matrix of shape (d, d), got {shape}")
    if not torch.allclose(cov, cov.T, atol=1e-6 * float(cov.abs().max().clamp_min(1.0))):
        raise ValueError(f"{name} must be symmetric")
    return cov


def sqrtm_psd(matrix: Tensor) -> Tensor:
    r"""The symmetric square root $S^{1/2}$ of a symmetric positive semi-definite matrix, shape ``(d, d)``.

    Example:
        >>> sqrtm_psd(torch.tensor([[4.0, 0.0], [0.0, 9.0]]))
        tensor([[2., 0.],
                [0., 3.]])
    """
    _check_cov(matrix, "matrix")
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def ot_map_matrix(cov0: Tensor, cov1: Tensor) -> Tensor:
    r"""$A = \Sigma_0^{-1/2}(\Sigma_0^{1/2}\Sigma_1\Sigma_0^{1/2})^{1/2}\Sigma_0^{-1/2}$, symmetric, ``(d, d)``.

    Chapter 4.

    Args:
        cov0: $\Sigma_0$, symmetric positive definite, shape ``(d, d)``.
        cov1: $\Sigma_1$, symmetric positive semi-definite, shape ``(d, d)``.

    Returns:
        The linear part of the optimal map $T(x) = m_1 + A(x - m_0)$.
    """
    _check_cov(cov0, "cov0")
    _check_cov(cov1, "cov1")
    if cov0.shape != cov1.shape:
        raise ValueError(f"cov0 and cov1 must have the same shape, got {tuple(cov0.shape)} and {tuple(cov1.shape)}")
    root0 = sqrtm_psd(cov0)
    inv_root0 = torch.linalg.inv(root0)
    middle = sqrtm_psd(root0 @ cov1 @ root0)
    a = inv_root0 @ middle @ inv_root0
    return 0.5 * (a + a.T)  # symmetric up to round-off


def gaussian_w2_squared(mean0: Tensor, cov0: Tensor, mean1: Tensor, cov1: Tensor) -> float:
    r"""$W_2^2$ between two Gaussians in closed form (Chapter 4); means ``(d,)``, covariances ``(d, d)``."""
    root0 = sqrtm_psd(_check_cov(cov0, "cov0"))
    cross = sqrtm_psd(root0 @ _check_cov(cov1, "cov1") @ root0)
    return float(((mean0 - mean1) ** 2).sum() + torch.trace(cov0 + cov1 - 2 * cross))


@dataclass(frozen=True)
class GaussianOTMap:
    r"""The optimal map $T(x) = m_1 + A(x - m_0)$ from $\mathcal N(m_0, \Sigma_0)$ to $\mathcal N(m_1, \Sigma_1)$.

    Build it with :meth:`between`; call it on points ``(N, d)``; :meth:`interpolate` gives
    $x_t = (1 - t)x + tT(x)$.
    """

    matrix: Tensor
    mean0: Tensor
    mean1: Tensor

    @classmethod
    def between(cls, mean0: Tensor, cov0: Tensor, mean1: Tensor, cov1: Tensor) -> GaussianOTMap:
        r"""The optimal map between $\mathcal N(m_0, \Sigma_0)$ and $\mathcal N(m_1, \Sigma_1)$."""
        return cls(ot_map_matrix(cov0, cov1), mean0, mean1)

    def __call__(self, x: Tensor) -> Tensor:
        """$T(x)$ for points of shape ``(N, d)``; returns ``(N, d)``."""
        return self.mean1 + (x - self.mean0) @ self.matrix.T

    def interpolate(self, x: Tensor, t: float) -> Tensor:
        """$x_t = (1 - t)x + tT(x)$, shape ``(N, d)``: McCann's displacement interpolation."""
        return (1 - t) * x + t * self(x)
