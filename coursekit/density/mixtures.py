r"""Gaussian mixtures: exact log-density, score, samples, and the law of noised data.

$$p(x) = \sum_{k=1}^K w_k\, \mathcal N(x;\, \mu_k, \Sigma_k), \qquad
  \nabla_x \log p(x) = \sum_{k=1}^K r_k(x)\, \Sigma_k^{-1} (\mu_k - x), \qquad
  r_k(x) = \frac{w_k\, \mathcal N(x; \mu_k, \Sigma_k)}{p(x)}.$$

A Gaussian mixture is the one non-trivial density whose score is known in closed form *and*
stays a Gaussian mixture under the noising $x_t = \alpha x_0 + \sigma \varepsilon$: its law has
means $\alpha \mu_k$ and covariances $\alpha^2 \Sigma_k + \sigma^2 I$. Chapter 1 (SDE basics) runs
Langevin dynamics with its known score; Chapter 2 (Fokker-Planck) and Chapter 6 (score-based
diffusion) use the exact score of noised data as the target that learned scores are checked
against; :mod:`coursekit.data.toys` builds its "8gaussians" data from it.

Each covariance is diagonalised once, $\Sigma_k = U_k \operatorname{diag}(\lambda_k) U_k^\top$.
Since $\alpha^2 \Sigma_k + \sigma^2 I = U_k \operatorname{diag}(\alpha^2 \lambda_k + \sigma^2)
U_k^\top$ has the same eigenvectors, the noised density at per-sample $(\alpha_i, \sigma_i)$
(:mod:`coursekit.density.noised`) costs $O(N K d^2)$ and needs no per-sample factorisation.
"""

from __future__ import annotations

import math
from typing import final

import torch
from torch import Tensor

from coursekit._shapes import check_positive, check_positive_int
from coursekit.density.noised import noised_log_prob, noised_score
from coursekit.rng import randn

__all__ = ["GaussianMixture", "noised_log_prob", "noised_score"]  # the last two live in coursekit.density.noised


@final
class GaussianMixture:
    r"""An immutable Gaussian mixture $\sum_k w_k \mathcal N(\mu_k, \Sigma_k)$ in $\mathbb R^d$.

    Give exactly one of ``covariances`` (full) or ``stds`` (isotropic, $\Sigma_k = s_k^2 I$).
    Weights that are non-negative with a positive sum are normalised to sum to 1; negative
    weights or all-zero weights raise ``ValueError``. All computations happen in the dtype and on
    the device of the parameters (``means``' dtype, or torch's default for non-float input);
    :meth:`to` makes a copy elsewhere. The parameters are stored as detached copies. Used in Chapters 1, 2
    and 6.

    Args:
        means: Component means $\mu_k$, shape ``(K, d)``.
        covariances: Symmetric positive-definite $\Sigma_k$, shape ``(K, d, d)``.
        weights: Mixture weights $w_k$, shape ``(K,)``; ``None`` means uniform $1/K$.
        stds: Isotropic standard deviations $s_k$, shape ``(K,)`` or a scalar shared by all.

    Raises:
        ValueError: On wrong shapes, non-SPD covariances, or invalid weights.

    Example:
        >>> gmm = GaussianMixture.isotropic(torch.tensor([[-2.0, 0.0], [2.0, 0.0]]), 0.5)
        >>> gmm.log_prob(torch.zeros(3, 2)).shape, gmm.score(torch.zeros(3, 2)).shape
        (torch.Size([3]), torch.Size([3, 2]))
    """

    __slots__ = ("_means", "_covariances", "_weights", "_eigvals", "_eigvecs")

    def __init__(
        self,
        means: Tensor,
        covariances: Tensor | None = None,
        weights: Tensor | None = None,
        *,
        stds: Tensor | float | None = None,
    ) -> None:
        means = _as_float(means, "means", like=None)
        if means.ndim != 2 or 0 in means.shape:
            raise ValueError(f"means must have shape (K, d) with K, d >= 1, got shape {tuple(means.shape)}")
        num, dim = means.shape
        if (covariances is None) == (stds is None):
            raise ValueError("give exactly one of covariances (shape (K, d, d)) or stds (shape (K,) or scalar)")
        if stds is not None:
            stds = _as_float(stds, "stds", like=means)
            if stds.ndim > 1 or (stds.ndim == 1 and stds.shape[0] != num):
                raise ValueError(f"stds must be a scalar or have shape (K,) = ({num},), got shape {tuple(stds.shape)}")
            if not bool((stds > 0).all()):
                raise ValueError(f"stds must be positive, got {stds.tolist()}")
            covariances = stds.expand(num)[:, None, None] ** 2 * torch.eye(dim).to(means)  # (K,) -> (K, d, d)
        else:
            covariances = _as_float(covariances, "covariances", like=means)
            if covariances.shape != (num, dim, dim):
                raise ValueError(
                    f"covariances must have shape (K, d, d) = ({num}, {dim}, {dim}) to match means of shape "
                    f"{tuple(means.shape)}, got shape {tuple(covariances.shape)}"
                )
            if (covariances - covariances.mT).abs().amax() > 1e-6 * covariances.abs().amax():
                raise ValueError("covariances must be symmetric")
            covariances = 0.5 * (covariances + covariances.mT)
        eigvals, eigvecs = torch.linalg.eigh(covariances)  # (K, d), (K, d, d): Sigma_k = U diag(lam) U^T
        if bool((eigvals[:, 0] <= 0).any()):  # eigenvalues come in ascending order
            bad = torch.nonzero(eigvals[:, 0] <= 0).flatten().tolist()
            raise ValueError(f"covariances must be positive definite; components {bad} are not")
        if weights is None:
            weights = torch.full((num,), 1.0 / num).to(means)
        else:
            weights = _as_float(weights, "weights", like=means)
            if weights.shape != (num,):
                raise ValueError(f"weights must have shape (K,) = ({num},), got shape {tuple(weights.shape)}")
            if bool((weights < 0).any()) or not bool(weights.sum() > 0):
                raise ValueError(f"weights must be non-negative with a positive sum, got {weights.tolist()}")
            weights = weights / weights.sum()
        _fill(self, means, covariances, weights, eigvals, eigvecs)

    def __setattr__(self, name: str, value: object) -> None:
        """Refuse every assignment: the mixture is immutable."""
        raise AttributeError("GaussianMixture is immutable; build a new one (e.g. with noised() or to())")

    def __reduce__(self) -> tuple[type, tuple[Tensor, Tensor, Tensor]]:
        """Rebuild from the parameters (for pickle and copy.deepcopy)."""
        return (GaussianMixture, (self._means, self._covariances, self._weights))

    @classmethod
    def isotropic(cls, means: Tensor, std: Tensor | float, weights: Tensor | None = None) -> GaussianMixture:
        r"""Build a mixture with covariances $s_k^2 I$.

        Args:
            means: Component means, shape ``(K, d)``.
            std: Standard deviation, a scalar shared by all components or shape ``(K,)``.
            weights: Mixture weights, shape ``(K,)``; ``None`` means uniform.

        Returns:
            The mixture.
        """
        return cls(means, weights=weights, stds=std)

    @property
    def means(self) -> Tensor:
        r"""Component means $\mu_k$ (a copy), shape ``(K, d)``."""
        return self._means.clone()

    @property
    def covariances(self) -> Tensor:
        r"""Component covariances $\Sigma_k$ (a copy), shape ``(K, d, d)``."""
        return self._covariances.clone()

    @property
    def weights(self) -> Tensor:
        """Normalised mixture weights (a copy), shape ``(K,)``."""
        return self._weights.clone()

    @property
    def eigenvalues(self) -> Tensor:
        r"""Eigenvalues $\lambda_k$ of the covariances, ascending (a copy), shape ``(K, d)``."""
        return self._eigvals.clone()

    @property
    def eigenvectors(self) -> Tensor:
        r"""Eigenvectors $U_k$ (columns) of the covariances (a copy), shape ``(K, d, d)``."""
        return self._eigvecs.clone()

    @property
    def num_components(self) -> int:
        """The number of components ``K``."""
        return self._means.shape[0]

    @property
    def dim(self) -> int:
        """The dimension ``d``."""
        return self._means.shape[1]

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the parameters and of every result."""
        return self._means.dtype

    @property
    def device(self) -> torch.device:
        """The device of the parameters and of every result."""
        return self._means.device

    def __repr__(self) -> str:
        """Show the sizes, dtype and device."""
        return f"GaussianMixture(K={self.num_components}, d={self.dim}, dtype={self.dtype}, device={self.device})"

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> GaussianMixture:
        """Return a copy on another device and/or in another floating dtype.

        Args:
            device: Target device (default: unchanged).
            dtype: Target floating dtype (default: unchanged).

        Returns:
            A new mixture.

        Raises:
            TypeError: If ``dtype`` is not a floating dtype.
        """
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating dtype, got {dtype}")
        move = {"device": device, "dtype": dtype}
        return GaussianMixture(self._means.to(**move), self._covariances.to(**move), self._weights.to(**move))

    def log_prob(self, x: Tensor) -> Tensor:
        r"""Evaluate $\log p(x) = \operatorname{logsumexp}_k [\log w_k + \log \mathcal N(x; \mu_k, \Sigma_k)]$.

        Args:
            x: Points, shape ``(N, d)``; cast to the mixture's dtype.

        Returns:
            Log-density, shape ``(N,)``.
        """
        return noised_log_prob(self, x, 1.0, 0.0)

    def score(self, x: Tensor) -> Tensor:
        r"""Evaluate the exact score $\nabla_x \log p(x) = \sum_k r_k(x)\, \Sigma_k^{-1}(\mu_k - x)$.

        Args:
            x: Points, shape ``(N, d)``; cast to the mixture's dtype.

        Returns:
            Score, shape ``(N, d)``.
        """
        return noised_score(self, x, 1.0, 0.0)

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        r"""Draw $x = \mu_k + U_k \operatorname{diag}(\lambda_k)^{1/2} \varepsilon$ with $k \sim w$.

        Args:
            n: Number of samples.
            generator: Source of randomness (may live on another device than the mixture).

        Returns:
            Samples, shape ``(n, d)``.
        """
        return self.sample_with_labels(n, generator=generator)[0]

    def sample_with_labels(self, n: int, *, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Draw samples together with the index of the component each came from.

        Args:
            n: Number of samples.
            generator: Source of randomness (may live on another device than the mixture).

        Returns:
            Samples of shape ``(n, d)`` and component labels, ``long`` of shape ``(n,)``.
        """
        n = check_positive_int(n, "n")
        dev = generator.device if generator is not None else self.device  # multinomial draws on the generator's
        labels = torch.multinomial(self._weights.to(dev), n, replacement=True, generator=generator).to(self.device)
        noise = randn((n, self.dim), generator=generator, device=self.device, dtype=self.dtype)  # (n, d)
        root = self._eigvecs * self._eigvals.sqrt()[:, None, :]  # U_k diag(sqrt(lam_k)): (K, d, d)
        x = self._means[labels] + torch.einsum("nde,ne->nd", root[labels], noise)  # (n, d)
        return x, labels

    def noised(self, alpha: float | Tensor, sigma: float | Tensor) -> GaussianMixture:
        r"""Return the law $p_t$ of $x_t = \alpha x_0 + \sigma \varepsilon$, where $\varepsilon \sim \mathcal N(0, I)$.

        $$x_0 \sim \sum_k w_k\, \mathcal N(\mu_k, \Sigma_k) \quad\Longrightarrow\quad
          x_t \sim \sum_k w_k\, \mathcal N(\alpha \mu_k,\; \alpha^2 \Sigma_k + \sigma^2 I).$$

        Args:
            alpha: Signal scale $\alpha > 0$, a float or 0-d tensor.
            sigma: Noise scale $\sigma \ge 0$, a float or 0-d tensor.

        Returns:
            The noised mixture (Chapter 6: the marginal of the forward SDE started at $p$).
        """
        a = check_positive(float(alpha) if isinstance(alpha, Tensor) else alpha, "alpha")
        s = _check_nonnegative(sigma, "sigma")
        eye = torch.eye(self.dim, dtype=self.dtype, device=self.device)
        covariances = a**2 * self._covariances + s**2 * eye
        eigvals = a**2 * self._eigvals + s**2  # same eigenvectors
        return _fill(
            object.__new__(GaussianMixture), a * self._means, covariances, self._weights, eigvals, self._eigvecs
        )


def _fill(mixture: GaussianMixture, *values: Tensor) -> GaussianMixture:
    """Set the (otherwise immutable) attributes of ``mixture``, in the order of ``__slots__``."""
    for name, value in zip(GaussianMixture.__slots__, values, strict=True):
        object.__setattr__(mixture, name, value)
    return mixture


def _check_nonnegative(value: float | Tensor, name: str) -> float:
    """Check that a number (or 0-d tensor) is finite and >= 0."""
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return number


def _as_float(value: object, name: str, like: Tensor | None) -> Tensor:
    """Convert to a finite floating tensor (dtype/device of ``like``, else float or default dtype)."""
    if like is not None:
        tensor = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    else:
        tensor = torch.as_tensor(value)
        if not tensor.is_floating_point():
            tensor = tensor.to(torch.get_default_dtype())
    if not bool(tensor.isfinite().all()):
        raise ValueError(f"{name} must be finite")
    return tensor.detach().clone()
