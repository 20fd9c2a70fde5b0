r"""Denoising score matching and the scores that drive the samplers (Chapter 6).

The score $\nabla\log p_t$ of noised data is learned without ever knowing $p_t$: for
$x_t = \alpha_t x_{\text{data}} + \sigma_t\varepsilon$, the conditional score is
$\nabla\log p_t(x_t \mid x_{\text{data}}) = -\varepsilon/\sigma_t$, and regressing on it has the
true score as its minimiser (Vincent 2011):
$$\mathcal L(\theta) = \mathbb E_{t \sim U[t_{\min}, 1]}\,\mathbb E_{x_{\text{data}}, \varepsilon}
  \Big[\lambda(t)\, \big\| s_\theta(x_t, t) + \varepsilon/\sigma_t \big\|^2\Big].$$
With the usual weighting $\lambda(t) = \sigma_t^2$ (Song & Ermon 2019) and the noise
parameterisation $s_\theta = -\hat\varepsilon_\theta/\sigma_t$ this is the DDPM loss
$\mathbb E\,\|\hat\varepsilon_\theta(x_t, t) - \varepsilon\|^2$ (Ho et al. 2020). Also here: the exact
score of a Gaussian mixture noised by an SDE (the target every sampler is tested with) and the
score of a trained network.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from coursekit._choices import check_choice
from coursekit._shapes import as_time, broadcast_time, check_points, check_positive
from coursekit.density.mixtures import GaussianMixture, noised_log_prob, noised_score
from coursekit.diffusion.parameterizations import score_from_denoiser, score_from_noise
from coursekit.rng import rand, randn_like
from coursekit.sde.processes import SDE

__all__ = ["dsm_loss", "noised_mixture_log_prob", "noised_mixture_score", "score_from_model"]

Model = Callable[[Tensor, Tensor], Tensor]
_PARAMETERIZATIONS = ("noise", "score", "data")
_WEIGHTINGS = ("sigma2", "uniform", "likelihood")


def dsm_loss(
    model: Model,
    x_data: Tensor,
    sde: SDE,
    *,
    parameterization: str = "noise",
    weighting: str = "sigma2",
    t_min: float = 1e-3,
    t: Tensor | None = None,
    noise: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Denoising score-matching loss of a model of the score (Chapter 6, exercise).

    Draws $t \sim U[t_{\min}, 1]$ and $\varepsilon \sim \mathcal N(0, I)$ per point, forms
    $x_t = \alpha_t x_{\text{data}} + \sigma_t\varepsilon$ and returns
    $$\frac1N\sum_n \frac{\lambda(t_n)}{\sigma_{t_n}^2}\,
      \big\|\sigma_{t_n} s_\theta(x_{t_n}, t_n) + \varepsilon_n\big\|^2,$$
    summed over dimensions, averaged over points. With ``parameterization="noise"`` the model
    predicts $\hat\varepsilon$ and $\sigma_t s_\theta = -\hat\varepsilon$, so the default weighting
    $\lambda = \sigma_t^2$ gives $\frac1N\sum_n\|\hat\varepsilon_\theta - \varepsilon_n\|^2$.

    Args:
        model: ``model(x_t, t) -> (N, d)``, a score, a noise prediction or a data prediction.
        x_data: Data, shape ``(N, d)``.
        sde: The forward SDE (gives $\alpha_t, \sigma_t$ and, for ``"likelihood"``, $g(t)$).
        parameterization: What the model predicts: ``"noise"`` (default), ``"score"`` or ``"data"``.
        weighting: $\lambda(t)$: ``"sigma2"`` ($\sigma_t^2$, default), ``"uniform"`` (1) or
            ``"likelihood"`` ($g(t)^2$, Song, Durkan, Murray & Ermon 2021).
        t_min: Smallest time drawn (the score blows up at $t = 0$).
        t: Optional fixed times, shape ``(N,)``.
        noise: Optional fixed noise $\varepsilon$, shape ``(N, d)``.
        generator: Source of randomness for $t$ and $\varepsilon$.

    Returns:
        The loss, a 0-d tensor.
    """
    check_points(x_data, "x_data")
    check_choice(parameterization, _PARAMETERIZATIONS, "parameterization")
    check_choice(weighting, _WEIGHTINGS, "weighting")
    t_min = check_positive(t_min, "t_min")
    if t_min >= 1:
        raise ValueError(f"t_min must be in (0, 1), got {t_min}")
    n = x_data.shape[0]
    if t is None:
        u = rand((n,), generator=generator, device=x_data.device, dtype=x_data.dtype)
        t = t_min + (1 - t_min) * u  # (N,)
    else:
        t = as_time(t, x_data)
        if t.shape != (n,):
            raise ValueError(f"t must have shape (N,) = ({n},), got {tuple(t.shape)}")
    if noise is None:
        noise = randn_like(x_data, generator=generator)
    elif noise.shape != x_data.shape:
        raise ValueError(f"noise must have the shape of x_data {tuple(x_data.shape)}, got {tuple(noise.shape)}")
    alpha, sigma = sde.marginal_coefficients(t)  # (N,), (N,)
    a, s = broadcast_time(alpha, x_data), broadcast_time(sigma, x_data)
    x_t = a * x_data + s * noise
    out = model(x_t, t)
    if parameterization == "noise":
        residual = noise - out  # sigma * s_theta + eps with s_theta = -out / sigma
    elif parameterization == "score":
        residual = s * out + noise
    else:  # data prediction: sigma s_theta = (alpha D - x_t) / sigma
        residual = (a * out - x_t) / s + noise
    if weighting == "sigma2":
        weight = torch.ones_like(sigma)
    elif weighting == "uniform":
        weight = 1 / sigma**2
    else:
        weight = sde.diffusion(t) ** 2 / sigma**2
    return (weight * (residual**2).sum(1)).mean()


def score_from_model(model: Model, sde: SDE, parameterization: str = "noise") -> Callable[[Tensor, Tensor], Tensor]:
    r"""Turn a trained network into ``score(x, t)`` for the samplers (Chapter 6).

    ``"noise"``: $s = -\hat\varepsilon_\theta/\sigma_t$; ``"data"``: $s = (\alpha_t D_\theta - x)/\sigma_t^2$;
    ``"score"``: the model itself.

    Args:
        model: ``model(x, t) -> (N, d)``.
        sde: The forward SDE the model was trained with.
        parameterization: ``"noise"``, ``"score"`` or ``"data"``.

    Returns:
        ``score(x, t) -> (N, d)``, ``x`` of shape ``(N, d)``, ``t`` scalar or ``(N,)``.
    """
    check_choice(parameterization, _PARAMETERIZATIONS, "parameterization")

    def score(x: Tensor, t: Tensor) -> Tensor:
        t = as_time(t, x)
        out = model(x, t)
        if parameterization == "score":
            return out
        alpha, sigma = sde.marginal_coefficients(t)
        if parameterization == "noise":
            return score_from_noise(out, sigma)
        return score_from_denoiser(x, out, alpha, sigma)

    return score


def _converter(mixture: GaussianMixture) -> Callable[[Tensor], GaussianMixture]:
    """Return ``x -> mixture`` moved to ``x``'s device and dtype, each conversion made once."""
    cache: dict[tuple[torch.device, torch.dtype], GaussianMixture] = {(mixture.device, mixture.dtype): mixture}

    def convert(x: Tensor) -> GaussianMixture:
        key = (x.device, x.dtype)
        if key not in cache:
            cache[key] = mixture.to(device=x.device, dtype=x.dtype)
        return cache[key]

    return convert


def noised_mixture_score(mixture: GaussianMixture, sde: SDE) -> Callable[[Tensor, Tensor], Tensor]:
    r"""The exact score $\nabla\log p_t$ of a Gaussian mixture noised by ``sde`` (Chapter 6).

    $p_t = \sum_k w_k\,\mathcal N(\alpha_t\mu_k, \alpha_t^2\Sigma_k + \sigma_t^2 I)$: no training needed.

    Args:
        mixture: The data law $p_0$.
        sde: A forward SDE with closed-form marginal coefficients.

    Returns:
        ``score(x, t) -> (N, d)`` for ``t`` scalar or ``(N,)`` in $(0, 1]$, in ``x``'s
        dtype and on its device (the mixture is converted once per dtype and device).
    """
    convert = _converter(mixture)

    def score(x: Tensor, t: Tensor) -> Tensor:
        alpha, sigma = sde.marginal_coefficients(as_time(t, x))  # alpha = 0 (cosine, t = 1) is N(0, sigma^2 I)
        return noised_score(convert(x), x, alpha, sigma)

    return score


def noised_mixture_log_prob(mixture: GaussianMixture, sde: SDE) -> Callable[[Tensor, Tensor], Tensor]:
    r"""The exact $\log p_t(x)$ of a Gaussian mixture noised by ``sde``, as ``log_prob(x, t) -> (N,)`` (Chapter 6).

    Args:
        mixture: The data law $p_0$.
        sde: A forward SDE with closed-form marginal coefficients.

    Returns:
        ``log_prob(x, t) -> (N,)`` for ``x`` of shape ``(N, d)`` and ``t`` scalar or ``(N,)``.
    """
    convert = _converter(mixture)

    def log_prob(x: Tensor, t: Tensor) -> Tensor:
        alpha, sigma = sde.marginal_coefficients(as_time(t, x))
        return noised_log_prob(convert(x), x, alpha, sigma)

    return log_prob
