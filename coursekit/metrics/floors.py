r"""The data floor of $W_2$ at a sample size, and a model's $W_2$ printed beside it (Chapters 2-9).

Two samples of $n$ points from the *same* distribution are at a positive empirical $W_2$ from
each other, which shrinks only slowly with $n$ (like $n^{-1/2}$ to $n^{-1/d}$, up to logs, in $d$
dimensions). A model's $W_2$ to $n$ data points therefore never reaches 0: the best it can score,
a sampler of the data itself, is the **data floor**
$$F_n = W_2\big(X^{(1)}_{1:n},\ X^{(2)}_{1:n}\big), \qquad
  X^{(1)}, X^{(2)} \text{ independent draws of } n \text{ points},$$
a random number. **Estimator:** :func:`data_floor` draws $K$ independent pairs and reports the
mean and sample standard deviation of $F_n$ over them (a :class:`~coursekit.metrics.spread.Spread`);
a model's $W_2$ at the same $n$ is "at the floor" when it lies within the floor's spread.

One definition for the whole course: for a named toy dataset the draws come from fixed seeds
(pair $k$ from ``torch.Generator().manual_seed(FLOOR_SEED + k)``), so the floor of "8gaussians" at
$n = 2000$ is the same number in every chapter; compare methods at $n \ge$ :data:`FLOOR_N`, where
one $W_2$ varies by a few percent (at $n = 200$ it varies by about 20%).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from coursekit._shapes import check_points, check_positive_int
from coursekit.metrics.spread import Spread
from coursekit.metrics.wasserstein import wasserstein2

__all__ = ["FLOOR_DRAWS", "FLOOR_N", "FLOOR_SEED", "ModelW2", "data_floor", "model_w2"]

#: The sample size at which the chapters compare methods by $W_2$.
FLOOR_N = 2000
#: Number of independent pairs behind a floor's mean and sd.
FLOOR_DRAWS = 5
#: Seed of the first pair of draws of a floor (pair ``k`` uses ``FLOOR_SEED + k``).
FLOOR_SEED = 20_000

Sampler = Callable[[int, torch.Generator], Tensor]


def data_floor(data: str | Sampler, n: int = FLOOR_N, *, draws: int = FLOOR_DRAWS, seed: int = FLOOR_SEED) -> Spread:
    r"""Mean $\pm$ sd of $W_2$ between two independent draws of ``n`` data points, over ``draws`` pairs (Chapters 2-9).

    $$F_n^{(k)} = W_2\big(X^{(k,1)}_{1:n},\ X^{(k,2)}_{1:n}\big), \quad k = 1, \dots, K, \qquad
      \text{floor} = \bar F_n \pm s_F .$$
    Pair $k$ draws both samples, first $X^{(k,1)}$ then $X^{(k,2)}$, from one generator seeded
    with ``seed + k``; for a dataset name the result is cached, so every chapter gets the same
    number for the same data and size. Cost: ``draws`` exact $W_2$ of size ``n`` (about 1 s each at
    $n = 2000$ on a laptop core).

    Args:
        data: A dataset name of :mod:`coursekit.data.toys`, or a sampler ``(n, generator) -> (n, d)``.
        n: Sample size (the size of the model samples you compare with the floor).
        draws: Number of independent pairs $K \ge 2$ (for an sd).
        seed: Seed of the first pair.

    Returns:
        :class:`~coursekit.metrics.spread.Spread` of the ``draws`` floor values.

    Example:
        >>> floor = data_floor(lambda n, g: torch.randn(n, 1, generator=g, dtype=torch.float64), 500, draws=3)
        >>> floor.n, 0.0 < floor.mean < 0.2
        (3, True)
    """
    n = check_positive_int(n, "n")
    draws = check_positive_int(draws, "draws")
    if draws < 2:
        raise ValueError(f"draws must be at least 2 for a standard deviation, got {draws}")
    if isinstance(data, str):
        return _named_floor(data, n, draws, int(seed))
    if not callable(data):
        raise TypeError(f"data must be a dataset name or a sampler (n, generator) -> (n, d), got {type(data).__name__}")
    return _floor(data, n, draws, int(seed))


def _floor(sampler: Sampler, n: int, draws: int, seed: int) -> Spread:
    values = []
    for k in range(draws):
        gen = torch.Generator().manual_seed(seed + k)
        first, second = sampler(n, gen), sampler(n, gen)
        check_points(first, "sampler(n, generator)")
        if first.shape[0] != n:
            raise ValueError(f"the sampler must return {n} points, got shape {tuple(first.shape)}")
        values.append(wasserstein2(first, second))
    return Spread.of(values)


@functools.lru_cache(maxsize=64)
def _named_floor(name: str, n: int, draws: int, seed: int) -> Spread:
    from coursekit.data import toys

    return _floor(lambda size, gen: toys.sample(name, size, generator=gen, dtype=torch.float64), n, draws, seed)


@dataclass(frozen=True)
class ModelW2:
    r"""A model's $W_2$ to fresh data, with the data floor at the same sample size (:func:`model_w2`).

    Attributes:
        w2: $W_2$(model samples, fresh data), both of ``n`` points.
        floor: The data floor at the same ``n`` (:func:`data_floor`).
        n: The sample size.
    """

    w2: float
    floor: Spread
    n: int

    @property
    def at_floor(self) -> bool:
        """Say whether ``w2`` lies within the floor's mean + sd (a data sampler's typical score)."""
        return self.w2 <= self.floor.mean + self.floor.sd

    def __str__(self) -> str:
        return f"W2 = {self.w2:.3f} (data floor {self.floor} over {self.floor.n} draws, n = {self.n})"


def model_w2(
    samples: Tensor, data: Tensor, floor_data: str | Sampler, *, min_n: int = FLOOR_N, draws: int = FLOOR_DRAWS
) -> ModelW2:
    r"""$W_2$ between model samples and held-out data, beside the data floor at the same size (Chapters 5, 9).

    $$W_2\big(\hat x_{1:n},\ x_{1:n}\big) \quad\text{next to}\quad \bar F_n \pm s_F,$$
    with the data points $x$ drawn independently of training and of the floor's draws.

    Args:
        samples: Model samples, shape ``(n, d)``.
        data: Fresh data points, shape ``(n, d)``.
        floor_data: The dataset's name or sampler, for :func:`data_floor` at size ``n``.
        min_n: Smallest accepted ``n`` (:data:`FLOOR_N`: below it one $W_2$ is too noisy to compare
            methods; lower it only for smoke tests).
        draws: Pairs behind the floor.

    Returns:
        :class:`ModelW2`.

    Raises:
        ValueError: If ``n < min_n`` or the two samples differ in size.
    """
    check_points(samples, "samples")
    check_points(data, "data", dim=samples.shape[1])
    n = samples.shape[0]
    if n < min_n:
        raise ValueError(
            f"compare methods by W2 on at least {min_n} points (got {n}): at small n one W2 varies "
            "by tens of percent; pass min_n=... only for a smoke test"
        )
    return ModelW2(wasserstein2(samples, data), data_floor(floor_data, n, draws=draws), n)
