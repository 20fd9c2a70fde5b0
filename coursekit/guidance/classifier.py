r"""Noisy classifiers $c(y \mid x_t, t)$ for classifier guidance (Chapter 7).

A classifier that guides a sampler must know the label of *noisy* points $x_t$ at every time,
so it is trained with the time as an input on noised data (Dhariwal & Nichol 2021):
$$\mathcal L = \mathbb E_{t,\,(x, y),\,\varepsilon}
  \big[-\log c_\phi(y \mid \alpha_t x + \sigma_t\varepsilon,\ t)\big].$$
For a Gaussian mixture whose components are the classes, the ideal noisy classifier is known in
closed form (:func:`mixture_posterior_logits`): the posterior of the component given $x_t$.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from coursekit._shapes import as_time, broadcast_time, check_points, check_positive
from coursekit.density.mixtures import GaussianMixture, noised_log_prob
from coursekit.guidance.conditional import as_labels
from coursekit.nn.networks import MLP
from coursekit.rng import randn_like
from coursekit.sde.processes import SDE

__all__ = [
    "NoisyClassifier",
    "classifier_log_prob_grad",
    "mixture_posterior_logits",
    "noisy_classifier_loss",
    "path_coefficients",
]

Classifier = Callable[[Tensor, Tensor], Tensor]


class NoisyClassifier(nn.Module):
    r"""Logits $\log c_\phi(\cdot \mid x, t)$ up to a constant: an MLP with time features and $K$ outputs.

    Args:
        dim: Data dimension $d$.
        num_classes: Number of classes $K$.
        hidden: Width of the hidden layers.
        layers: Number of hidden layers.
        time_features: Size of the time embedding.

    Example:
        >>> NoisyClassifier(2, 8, hidden=16)(torch.zeros(5, 2), 0.3).shape
        torch.Size([5, 8])
    """

    def __init__(self, dim: int, num_classes: int, hidden: int = 128, layers: int = 3, time_features: int = 16):
        super().__init__()
        self.num_classes = num_classes
        self.net = MLP(dim, hidden, layers, time_features, out_dim=num_classes)

    def forward(self, x: Tensor, t: float | Tensor) -> Tensor:
        """Logits of shape ``(N, K)`` at ``x`` ``(N, d)`` and ``t`` scalar or ``(N,)``."""
        return self.net(x, t)


def path_coefficients(t: Tensor, sde: SDE | None) -> tuple[Tensor, Tensor]:
    r"""$(\alpha_t, \sigma_t)$ of ``sde``, or of the flow-matching path, $(1 - t, t)$, if it is None (Chapter 7)."""
    if sde is None:
        return 1 - t, t
    return sde.marginal_coefficients(t)


def noisy_classifier_loss(
    classifier: Classifier,
    x_data: Tensor,
    labels: Tensor,
    *,
    sde: SDE | None = None,
    t_min: float = 1e-3,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Cross-entropy of a classifier on noised data $x_t = \alpha_t x + \sigma_t\varepsilon$ (Chapter 7).

    The times are drawn as $t \sim U[t_{\min}, 1]$.

    Args:
        classifier: ``classifier(x, t) -> (N, K)`` logits.
        x_data: Clean data, shape ``(N, d)``.
        labels: Their labels, shape ``(N,)``.
        sde: The forward SDE of the diffusion model to guide; ``None``: the flow-matching path
            $\alpha_t = 1 - t$, $\sigma_t = t$.
        t_min: Smallest time drawn.
        generator: Source of randomness: first $t$ (``rand(N)``), then $\varepsilon$.

    Returns:
        The mean cross-entropy, a 0-d tensor.
    """
    check_points(x_data, "x_data")
    check_positive(t_min, "t_min")
    gen_device = generator.device if generator is not None else x_data.device
    u = torch.rand(x_data.shape[0], generator=generator, device=gen_device, dtype=x_data.dtype).to(x_data.device)
    t = t_min + (1 - t_min) * u
    alpha, sigma = path_coefficients(t, sde)
    noise = randn_like(x_data, generator=generator)
    x_t = broadcast_time(alpha, x_data) * x_data + broadcast_time(sigma, x_data) * noise
    logits = classifier(x_t, t)
    return F.cross_entropy(logits, as_labels(labels, x_data, logits.shape[1]))


def classifier_log_prob_grad(classifier: Classifier, x: Tensor, t: float | Tensor, y: int | Tensor) -> Tensor:
    r"""The guidance direction $\nabla_x \log c(y \mid x, t)$ by automatic differentiation (Chapter 7, exercise).

    $\log c(y \mid x, t) = \ell_y(x, t) - \log\sum_k e^{\ell_k(x, t)}$ for logits $\ell$ (a log-softmax,
    not the raw logit). Each point's log-probability depends only on that point, so the gradient of
    the sum over the batch gives every row's gradient at once. Works under ``torch.no_grad()``.

    Args:
        classifier: ``classifier(x, t) -> (N, K)`` logits.
        x: Points, shape ``(N, d)``.
        t: Time, scalar or ``(N,)``.
        y: Labels, an int or shape ``(N,)``.

    Returns:
        The gradient, shape ``(N, d)``, detached.
    """
    check_points(x)
    with torch.enable_grad():
        x_in = x.detach().requires_grad_(True)
        log_probs = torch.log_softmax(classifier(x_in, as_time(t, x)), dim=1)  # (N, K)
        labels = as_labels(y, x, log_probs.shape[1])
        selected = log_probs.gather(1, labels[:, None]).sum()
        (grad,) = torch.autograd.grad(selected, x_in)
    return grad.detach()


def mixture_posterior_logits(mixture: GaussianMixture, sde: SDE | None = None) -> Classifier:
    r"""The exact noisy classifier of a Gaussian mixture whose components are the classes (Chapter 7).

    $$\log p_t(k \mid x) = \log w_k + \log\mathcal N(x;\ \alpha_t\mu_k,\ \alpha_t^2\Sigma_k + \sigma_t^2 I)
      - \log p_t(x).$$

    Args:
        mixture: The data law; component $k$ is class $k$.
        sde: The forward SDE; ``None``: the flow-matching path $(1 - t, t)$.

    Returns:
        ``classifier(x, t) -> (N, K)`` log-posteriors (normalised logits), in the mixture's dtype.
    """
    weights = mixture.weights
    components = [
        GaussianMixture(mixture.means[k : k + 1], mixture.covariances[k : k + 1]) for k in range(mixture.num_components)
    ]

    def classifier(x: Tensor, t: float | Tensor) -> Tensor:
        alpha, sigma = path_coefficients(as_time(t, x), sde)
        alpha = alpha.clamp_min(1e-6)  # the flow-matching path reaches alpha = 0 at t = 1
        joint = torch.stack([noised_log_prob(c.to(x.device), x, alpha, sigma) for c in components], dim=1)
        return torch.log_softmax(joint + weights.to(x.device).log(), dim=1)

    return classifier
