r"""Noised Gaussian mixtures: posterior weights, log-density and score in closed form (Chapters 1, 2, 5, 6).

Noising $x_0 \sim \sum_k w_k\,\mathcal N(\mu_k, \Sigma_k)$ as $x_t = \alpha x_0 + \sigma\varepsilon$ gives
$$p_t(x) = \sum_k w_k\,\mathcal N(x;\ \alpha\mu_k,\ C_k), \qquad C_k = \alpha^2\Sigma_k + \sigma^2 I,$$
$$r_k(x) = \operatorname{softmax}_k\big(\log w_k + \log\mathcal N(x;\ \alpha\mu_k, C_k)\big), \qquad
  \nabla\log p_t(x) = -\sum_k r_k(x)\, C_k^{-1}(x - \alpha\mu_k).$$
The posterior weights $r_k$ (responsibilities) are the one softmax behind every exact score of the
course: a :class:`coursekit.density.mixtures.GaussianMixture` (:func:`noised_log_prob`,
:func:`noised_score`), a point cloud (:mod:`coursekit.density.point_cloud`, the mixture with
$\Sigma_k = 0$) and the ideal flow-matching velocity (:mod:`coursekit.flows.marginal_velocity`).
:func:`mixture_posterior` computes them. The squared distances come from the differences
$x - \alpha\mu_k$, never from the expansion $\|x\|^2 - 2\alpha x\cdot\mu_k + \alpha^2\|\mu_k\|^2$,
whose cancellation in float32 destroys the logits when $\sigma$ is small; the rows are processed in
chunks so that the ``(chunk, K, d)`` differences stay small in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from coursekit._shapes import check_points

if TYPE_CHECKING:
    from coursekit.density.mixtures import GaussianMixture

__all__ = ["MixturePosterior", "mixture_posterior", "noised_log_prob", "noised_score"]

_LOG_2PI = math.log(2.0 * math.pi)
_CHUNK = 1 << 22  # elements of the (chunk, K, d) difference tensor held at once


@dataclass(frozen=True)
class MixturePosterior:
    r"""Result of :func:`mixture_posterior`.

    Attributes:
        log_prob: $\log p_t(x)$, shape ``(N,)``.
        weights: Posterior weights $r_k(x) = P(\text{component } k \mid x_t = x)$, shape ``(N, K)``; rows sum to 1.
        score: $\nabla\log p_t(x)$, shape ``(N, d)``, or ``None`` when not asked for.
    """

    log_prob: Tensor
    weights: Tensor
    score: Tensor | None


def mixture_posterior(
    x: Tensor,
    means: Tensor,
    alpha: float | Tensor,
    sigma: float | Tensor,
    *,
    log_weights: Tensor | None = None,
    eigenvalues: Tensor | None = None,
    eigenvectors: Tensor | None = None,
    score: bool = True,
) -> MixturePosterior:
    r"""Posterior weights, log-density, score of $\sum_k w_k\mathcal N(\alpha\mu_k, \alpha^2\Sigma_k + \sigma^2 I)$.

    With $\Sigma_k = U_k\operatorname{diag}(\lambda_k)U_k^\top$ and $z_k = U_k^\top(x - \alpha\mu_k)$, the
    covariance $C_k$ has eigenvalues $c_k = \alpha^2\lambda_k + \sigma^2$ and
    $$\log\mathcal N(x; \alpha\mu_k, C_k) = -\tfrac12\Big(\sum_i \frac{z_{k,i}^2}{c_{k,i}} + \sum_i\log c_{k,i}
      + d\log 2\pi\Big), \qquad C_k^{-1}(x - \alpha\mu_k) = U_k\,(z_k / c_k).$$
    Without ``eigenvalues`` the components are points ($\Sigma_k = 0$, $C_k = \sigma^2 I$, no rotation):
    the noised point cloud. Values of ``alpha`` and ``sigma`` are the caller's to check. Chapters 2, 5, 6.

    Args:
        x: Where to evaluate, shape ``(N, d)``.
        means: Component means $\mu_k$, shape ``(K, d)``, same dtype and device as ``x``.
        alpha: Signal scale $\alpha$, a number, 0-d or shape ``(N,)``.
        sigma: Noise scale $\sigma$, a number, 0-d or shape ``(N,)``.
        log_weights: $\log w_k$, shape ``(K,)``; ``None`` means uniform, $-\log K$.
        eigenvalues: $\lambda_k$, shape ``(K, d)``; ``None``: point masses.
        eigenvectors: $U_k$ (columns), shape ``(K, d, d)``; ``None``: no rotation (axis-aligned).
        score: Also compute the score.

    Returns:
        :class:`MixturePosterior`.

    Example:
        >>> post = mixture_posterior(torch.zeros(1, 1), torch.tensor([[-1.0], [3.0]]), 1.0, 1.0)
        >>> post.weights  # x = 0 is nearer the first point: e^{-1/2} : e^{-9/2}
        tensor([[0.9820, 0.0180]])
    """
    x = check_points(x, "x", dim=means.shape[1])
    n, (k, d) = x.shape[0], means.shape
    a, s = _scale(alpha, "alpha", x), _scale(sigma, "sigma", x)  # (N|1, 1, 1)
    if log_weights is None:
        log_weights = x.new_full((k,), -math.log(k))
    step = max(1, _CHUNK // max(1, k * d))
    parts = [
        _rows(
            x[i : i + step],
            means,
            _slice(a, i, step),
            _slice(s, i, step),
            log_weights,
            eigenvalues,
            eigenvectors,
            score,
        )
        for i in range(0, n, step)
    ]
    if not parts:  # no points
        return MixturePosterior(x.new_zeros(0), x.new_zeros(0, k), x.new_zeros(0, d) if score else None)
    log_prob, weights, scores = zip(*parts, strict=True)
    return MixturePosterior(torch.cat(log_prob), torch.cat(weights), torch.cat(scores) if score else None)


def noised_log_prob(mixture: GaussianMixture, x: Tensor, alpha: float | Tensor, sigma: float | Tensor) -> Tensor:
    r"""Evaluate $\log p_t(x)$ for $x_t = \alpha x_0 + \sigma \varepsilon$, with per-sample $\alpha, \sigma$.

    $$\log p_t(x_i) = \log \sum_k w_k\, \mathcal N(x_i;\, \alpha_i \mu_k,\; \alpha_i^2 \Sigma_k + \sigma_i^2 I).$$

    Row ``i`` equals ``mixture.noised(alpha[i], sigma[i]).log_prob(x[i:i+1])``, computed without
    building ``N`` mixtures. Value checks on ``alpha``/``sigma`` run on CPU tensors only (no
    device sync). Chapter 6 (score-based diffusion).

    Args:
        mixture: The law of the data $x_0$.
        x: Points, shape ``(N, d)``; cast to the mixture's dtype, same device as the mixture.
        alpha: Signal scales $\alpha \ge 0$, a float, 0-d tensor or shape ``(N,)``.
        sigma: Noise scales $\sigma \ge 0$ ($> 0$ where $\alpha = 0$: the law is then $\mathcal N(0, \sigma^2 I)$),
            a float, 0-d tensor or shape ``(N,)``.

    Returns:
        Log-density, shape ``(N,)``.
    """
    return _noised(mixture, x, alpha, sigma, score=False).log_prob


def noised_score(mixture: GaussianMixture, x: Tensor, alpha: float | Tensor, sigma: float | Tensor) -> Tensor:
    r"""Evaluate the exact score $\nabla_x \log p_t(x)$ of noised data, with per-sample $\alpha, \sigma$.

    $$\nabla \log p_t(x_i) = \sum_k r_{ik}\, (\alpha_i^2 \Sigma_k + \sigma_i^2 I)^{-1} (\alpha_i \mu_k - x_i).$$

    Row ``i`` equals ``mixture.noised(alpha[i], sigma[i]).score(x[i:i+1])``, as needed for a
    training batch with one time per sample. Chapter 6 (score-based diffusion).

    Args:
        mixture: The law of the data $x_0$.
        x: Points, shape ``(N, d)``; cast to the mixture's dtype, same device as the mixture.
        alpha: Signal scales $\alpha \ge 0$, a float, 0-d tensor or shape ``(N,)``.
        sigma: Noise scales $\sigma \ge 0$ ($> 0$ where $\alpha = 0$: the law is then $\mathcal N(0, \sigma^2 I)$),
            a float, 0-d tensor or shape ``(N,)``.

    Returns:
        Score, shape ``(N, d)``.

    Example:
        >>> from coursekit.density.mixtures import GaussianMixture
        >>> gmm = GaussianMixture.isotropic(torch.zeros(1, 2), 1.0)
        >>> noised_score(gmm, torch.ones(2, 2), torch.tensor([1.0, 0.6]), torch.tensor([0.0, 0.8]))
        tensor([[-1., -1.],
                [-1., -1.]])
    """
    score = _noised(mixture, x, alpha, sigma, score=True).score
    assert score is not None  # asked for
    return score


def _noised(
    mixture: GaussianMixture, x: Tensor, alpha: float | Tensor, sigma: float | Tensor, *, score: bool
) -> MixturePosterior:
    """Check ``x``, ``alpha``, ``sigma`` against the mixture and evaluate its noised posterior."""
    x = check_points(x, "x", dim=mixture.dim)
    if x.device != mixture.device:
        raise ValueError(
            f"x is on {x.device} but the mixture is on {mixture.device}; use mixture.to({str(x.device)!r})"
        )
    x = x.to(mixture.dtype)
    _check_values(alpha, sigma, x)
    return mixture_posterior(
        x,
        mixture.means,
        alpha,
        sigma,
        log_weights=mixture.weights.log(),
        eigenvalues=mixture.eigenvalues,
        eigenvectors=mixture.eigenvectors,
        score=score,
    )


def _rows(
    x: Tensor,
    means: Tensor,
    a: Tensor,
    s: Tensor,
    log_weights: Tensor,
    eigenvalues: Tensor | None,
    eigenvectors: Tensor | None,
    score: bool,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Return log p (n,), the weights (n, K) and the score (n, d) of one chunk of rows."""
    d = x.shape[1]
    diff = x[:, None, :] - a * means  # (n, d) -> (n, 1, d); minus (n|1, 1, 1) * (K, d) -> (n, K, d)
    z = diff if eigenvectors is None else torch.einsum("nkd,kde->nke", diff, eigenvectors)  # U_k^T diff: (n, K, d)
    if eigenvalues is None:
        var = (s**2).expand(s.shape[0], 1, d)  # point masses: C_k = sigma^2 I, (n|1, 1, d)
    else:
        var = a**2 * eigenvalues + s**2  # eigenvalues of alpha^2 Sigma_k + sigma^2 I: (n|1, K, d)
    log_normal = -0.5 * ((z**2 / var).sum(-1) + var.log().sum(-1) + d * _LOG_2PI)  # (n, K)
    joint = log_weights + log_normal  # (n, K)
    log_p = torch.logsumexp(joint, dim=1)  # (n,)
    weights = torch.softmax(joint, dim=1)  # posterior weights r_k: (n, K)
    if not score:
        return log_p, weights, None
    if eigenvalues is None:  # point masses: sum_k r_k (alpha mu_k - x) / sigma^2
        return log_p, weights, (a[:, :, 0] * (weights @ means) - x) / s[:, :, 0] ** 2
    pull = z / var if eigenvectors is None else torch.einsum("kde,nke->nkd", eigenvectors, z / var)  # C_k^{-1} diff
    return log_p, weights, torch.einsum("nk,nkd->nd", weights, -pull)  # (n, d)


def _scale(value: float | Tensor, name: str, x: Tensor) -> Tensor:
    """Return alpha or sigma (float, 0-d or (N,)) as a tensor of shape (N, 1, 1) or (1, 1, 1)."""
    value = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    if value.ndim > 1 or (value.ndim == 1 and value.shape[0] != x.shape[0]):
        raise ValueError(
            f"{name} must be a scalar or have shape (N,) = ({x.shape[0]},) to match x of shape "
            f"{tuple(x.shape)}, got shape {tuple(value.shape)}"
        )
    return value.reshape(-1, 1, 1)  # () or (N,) -> (1|N, 1, 1)


def _slice(value: Tensor, start: int, step: int) -> Tensor:
    """Rows ``start:start+step`` of a per-sample (N, 1, 1) scale; a shared (1, 1, 1) one as is."""
    return value[start : start + step] if value.shape[0] > 1 else value


def _check_values(alpha: float | Tensor, sigma: float | Tensor, x: Tensor) -> None:
    """Check alpha >= 0, sigma >= 0, both finite, sigma > 0 where alpha = 0; on CPU only (a GPU tensor costs no sync).

    At alpha = 0 the law is N(0, sigma^2 I) (the mixture forgotten), a proper density when sigma > 0.
    """
    a, s = _scale(alpha, "alpha", x), _scale(sigma, "sigma", x)  # (N|1, 1, 1), on x's device
    if x.device.type != "cpu":
        return
    for value, name in ((a, "alpha"), (s, "sigma")):
        if not bool(((value >= 0) & value.isfinite()).all()):
            raise ValueError(f"{name} must be non-negative and finite")
    if not bool(((a > 0) | (s > 0)).all()):
        raise ValueError("sigma must be positive where alpha = 0 (the law is then N(0, sigma^2 I)); got both 0")
