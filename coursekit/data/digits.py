r"""Real images for Chapter 7: scikit-learn's 8x8 handwritten digits (shipped with it, no download).

1797 grey-scale images of the digits 0-9, each 64 pixels with values 0..16, flattened to
$\mathbb R^{64}$ and scaled to $[-1, 1]$ (:func:`load_digits`). Also here: what judges generated
digits without looking at them one by one, namely a classifier trained on real images
(:func:`fit_digit_classifier`: accuracy of samples against the requested label), the spread of
the samples within each class (:func:`within_class_diversity`), and the distance of each sample
to its nearest training image (:func:`nearest_distance`: a model that copies its training set
scores 0 there).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive_int
from coursekit.rng import randperm

__all__ = [
    "IMAGE_SIZE",
    "fit_digit_classifier",
    "image_grid",
    "load_digits",
    "nearest_distance",
    "split",
    "within_class_diversity",
]

IMAGE_SIZE = 8


def load_digits(
    *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    r"""The 1797 digits as points of $[-1, 1]^{64}$ ($x = p/8 - 1$ for pixel values $p \in [0, 16]$) and labels.

    Args:
        device: Device of the results.
        dtype: Floating dtype of the images.

    Returns:
        Images ``(1797, 64)`` and labels ``long`` ``(1797,)``.

    Example:
        >>> x, y = load_digits()
        >>> tuple(x.shape), float(x.min()), float(x.max()), int(y.max())
        ((1797, 64), -1.0, 1.0, 9)
    """
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    x = torch.as_tensor(bunch.data, dtype=dtype) / 8.0 - 1.0
    return x.to(device), torch.as_tensor(bunch.target, dtype=torch.long, device=device)


def split(
    x: Tensor, labels: Tensor, *, test_fraction: float = 0.2, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Split images and labels at random into a training and a test part.

    Args:
        x: Images, shape ``(N, 64)``.
        labels: Labels, shape ``(N,)``.
        test_fraction: Share of the test part, in $(0, 1)$.
        generator: Source of randomness for the permutation, drawn on the generator's device and
            moved to the images' device (``None``: torch's default generator of the images' device).

    Returns:
        ``(x_train, y_train, x_test, y_test)``, on the devices of ``x`` and ``labels``.
    """
    check_points(x)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if labels.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},) like the images, got {tuple(labels.shape)}")
    perm = randperm(x.shape[0], generator=generator, device=x.device)
    n_test = int(round(test_fraction * x.shape[0]))
    test, train = perm[:n_test], perm[n_test:]
    return x[train], labels[train.to(labels.device)], x[test], labels[test.to(labels.device)]


def fit_digit_classifier(x: Tensor, labels: Tensor, *, c: float = 0.1) -> Callable[[Tensor], Tensor]:
    r"""Train a multinomial logistic regression on clean images (scikit-learn) to judge generated digits.

    Trained separately from any generative model, it gives the label of an image; its accuracy on
    held-out real digits is the reference value of real data, not an upper bound: samples that are
    more typical of their class than real digits (what guidance produces) can score higher.

    Args:
        x: Training images, shape ``(N, 64)``, scaled as by :func:`load_digits`.
        labels: Their labels, shape ``(N,)``.
        c: Inverse regularisation strength of scikit-learn's ``LogisticRegression``.

    Returns:
        ``predict(images) -> labels``: images ``(M, 64)`` to ``long`` labels ``(M,)`` on the images' device.
    """
    from sklearn.linear_model import LogisticRegression

    check_points(x, dim=IMAGE_SIZE**2)
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(x.detach().double().cpu().numpy(), labels.cpu().numpy())

    def predict(images: Tensor) -> Tensor:
        check_points(images, "images", dim=IMAGE_SIZE**2)
        out = model.predict(images.detach().double().cpu().numpy())
        return torch.as_tensor(np.asarray(out), dtype=torch.long, device=images.device)

    return predict


def nearest_distance(samples: Tensor, reference: Tensor) -> Tensor:
    r"""Euclidean distance from each sample to its nearest reference image, $\min_j \|x_i - r_j\|$.

    Args:
        samples: Shape ``(N, d)``.
        reference: Shape ``(M, d)``, e.g. the training images.

    Returns:
        Distances, shape ``(N,)``.

    Example:
        >>> nearest_distance(torch.tensor([[0.0, 0.0], [3.0, 4.0]]), torch.tensor([[0.0, 0.0]]))
        tensor([0., 5.])
    """
    check_points(samples, "samples")
    check_points(reference, "reference", dim=samples.shape[1])
    return torch.cdist(samples, reference.to(samples)).min(dim=1).values


def within_class_diversity(samples: Tensor, labels: Tensor, num_classes: int = 10) -> float:
    r"""Mean over classes of the mean pairwise distance between samples of the class.

    $$D = \frac1K\sum_k \frac{1}{n_k(n_k - 1)}\sum_{i \ne j,\ y_i = y_j = k}\|x_i - x_j\|.$$
    Classes with fewer than two samples are skipped. Compare with the same number on real images.

    Args:
        samples: Shape ``(N, d)``.
        labels: The class of each sample (requested or predicted), shape ``(N,)``.
        num_classes: $K$.

    Returns:
        $D$ as a float.
    """
    check_points(samples, "samples")
    check_positive_int(num_classes, "num_classes")
    values = []
    for k in range(num_classes):
        group = samples[labels == k]
        if group.shape[0] >= 2:
            n = group.shape[0]
            values.append(torch.cdist(group, group).sum() / (n * (n - 1)))
    if not values:
        raise ValueError("no class has two samples")
    return float(torch.stack(values).mean())


def image_grid(x: Tensor, rows: int) -> Tensor:
    """Tile images ``(rows * cols, 64)`` into one picture ``(8 rows, 8 cols)`` for ``imshow``, with 1-pixel gaps.

    Args:
        x: Images, shape ``(rows * cols, 64)``.
        rows: Number of rows.

    Returns:
        The picture, shape ``(9 rows - 1, 9 cols - 1)``, gaps filled with the minimum value -1.
    """
    check_points(x, dim=IMAGE_SIZE**2)
    check_positive_int(rows, "rows")
    if x.shape[0] % rows:
        raise ValueError(f"{x.shape[0]} images do not fill {rows} rows")
    cols, s = x.shape[0] // rows, IMAGE_SIZE
    canvas = torch.full((rows * (s + 1) - 1, cols * (s + 1) - 1), -1.0, dtype=x.dtype)
    for i, image in enumerate(x.detach().cpu().reshape(-1, s, s)):
        r, c = divmod(i, cols)
        canvas[r * (s + 1) : r * (s + 1) + s, c * (s + 1) : c * (s + 1) + s] = image
    return canvas
