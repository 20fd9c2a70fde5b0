r"""Numbers with their uncertainty: a spread over repeats and an estimate with its standard error (Chapters 5, 9).

Two kinds of uncertainty appear in the course's measured claims, and they are kept apart:

* :class:`Spread`: the same measurement repeated $K$ times (training seeds, independent draws of a
  data floor), reported as the mean and the sample standard deviation of the $K$ values,
  $$\bar v = \frac1K\sum_k v_k, \qquad s = \Big(\frac{1}{K-1}\sum_k (v_k - \bar v)^2\Big)^{1/2},$$
  with the values themselves, so that a reader can see all of them. $s$ describes how much one
  repeat varies; the mean itself is uncertain by about $s/\sqrt K$.
* :class:`Estimate`: one Monte-Carlo average $\hat\mu = \frac1n\sum_i D_i$ of $n$ i.i.d. terms,
  with its standard error $\widehat{\mathrm{se}} = s_D/\sqrt n$ (for example a KL divergence
  estimated on $n$ held-out points, :mod:`coursekit.metrics.divergences`).

The rule the chapters follow: a difference is a finding only where it exceeds the uncertainty;
:meth:`Spread.separated_from` is the (conservative) test they use, "the mean $\pm$ sd intervals do
not overlap".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

__all__ = ["Estimate", "Spread"]


@dataclass(frozen=True)
class Spread:
    r"""Mean and sample standard deviation of repeated measurements, with the values (Chapters 5, 9).

    Attributes:
        mean: $\bar v$, the mean of the values.
        sd: $s$, the sample standard deviation (divisor $K - 1$); ``nan`` for a single value.
        values: The $K$ values, in the order of the repeats (seeds or draws).

    Example:
        >>> s = Spread.of([1.0, 2.0, 3.0])
        >>> s.mean, s.sd, s.n
        (2.0, 1.0, 3)
        >>> str(s)
        '2.000 ± 1.000'
    """

    mean: float
    sd: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        r"""Summarise the values (at least one, all finite).

        Args:
            values: The repeated measurements, $K \ge 1$ numbers.

        Returns:
            Their :class:`Spread`.
        """
        values = tuple(float(v) for v in values)
        if not values:
            raise ValueError("a Spread needs at least one value, got none")
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"every value must be finite, got {values}")
        mean = math.fsum(values) / len(values)
        if len(values) < 2:
            return cls(mean, math.nan, values)
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))
        return cls(mean, sd, values)

    @classmethod
    def from_dict(cls, record: dict) -> Spread:
        """Rebuild a Spread from :meth:`to_dict`'s record (``sd`` ``None`` means a single value).

        Args:
            record: A dict with ``"mean"``, ``"sd"`` and ``"values"``.

        Returns:
            The :class:`Spread`.
        """
        sd = record["sd"]
        return cls(float(record["mean"]), math.nan if sd is None else float(sd), tuple(record["values"]))

    @property
    def n(self) -> int:
        """The number of values $K$."""
        return len(self.values)

    def to_dict(self) -> dict:
        """The record ``{"mean", "sd", "values", "n"}`` (``sd`` is ``None`` for one value: JSON has no NaN).

        Returns:
            A JSON-ready dict.
        """
        return {
            "mean": self.mean,
            "sd": None if math.isnan(self.sd) else self.sd,
            "values": list(self.values),
            "n": self.n,
        }

    def separated_from(self, other: Spread) -> bool:
        r"""Say whether the intervals $\bar v \pm s$ of the two spreads do not overlap.

        With three seeds each this asks the difference of the means to exceed about $3.5$ standard
        errors of one mean: conservative, so a "yes" is a difference the noise does not explain.
        Where either sd is undefined (one value), the answer is ``False``.

        Args:
            other: The spread to compare with.

        Returns:
            ``True`` when ``|mean - other.mean| > sd + other.sd``.
        """
        if math.isnan(self.sd) or math.isnan(other.sd):
            return False
        return abs(self.mean - other.mean) > self.sd + other.sd

    def format(self, digits: int = 3) -> str:
        """The text ``"mean ± sd"`` with ``digits`` decimals (``"mean"`` alone for one value).

        Args:
            digits: Decimals.

        Returns:
            The text.
        """
        if math.isnan(self.sd):
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.sd:.{digits}f}"

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class Estimate:
    r"""A Monte-Carlo mean $\hat\mu = \frac1n \sum_i D_i$ with its standard error $s_D/\sqrt n$ (Chapters 3, 5, 9).

    Attributes:
        value: $\hat\mu$.
        standard_error: $s_D/\sqrt n$ with the sample standard deviation $s_D$ of the terms
            (``nan`` for $n = 1$).
        n: The number of terms.

    Example:
        >>> e = Estimate.of_terms(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        >>> e.value, round(e.standard_error, 4), e.n
        (2.5, 0.6455, 4)
    """

    value: float
    standard_error: float
    n: int

    @classmethod
    def of_terms(cls, terms) -> Estimate:
        r"""The mean of the i.i.d. terms $D_i$ and its standard error $s_D/\sqrt n$.

        Args:
            terms: The terms $D_i$, a tensor of shape ``(n,)`` (or anything ``torch.as_tensor`` takes).

        Returns:
            The :class:`Estimate`; $\pm\infty$ terms give an infinite value and standard error.
        """
        terms = torch.as_tensor(terms).detach().double().reshape(-1).cpu()
        n = int(terms.numel())
        if n == 0:
            raise ValueError("an Estimate needs at least one term, got none")
        if bool(torch.isnan(terms).any()):
            raise ValueError(f"{int(torch.isnan(terms).sum())} of the {n} terms are NaN")
        value = float(terms.mean())
        if not math.isfinite(value):
            return cls(value, math.inf, n)
        se = float(terms.std(correction=1)) / math.sqrt(n) if n > 1 else math.nan
        return cls(value, se, n)

    def to_dict(self) -> dict:
        """The record ``{"value", "standard_error", "n"}`` (``None`` for an undefined error).

        Returns:
            A JSON-ready dict.
        """
        se = None if math.isnan(self.standard_error) else self.standard_error
        return {"value": self.value, "standard_error": se, "n": self.n}

    def format(self, digits: int = 3) -> str:
        """The text ``"value ± se"`` with ``digits`` decimals.

        Args:
            digits: Decimals.

        Returns:
            The text.
        """
        return f"{self.value:.{digits}f} ± {self.standard_error:.{digits}f}"

    def __str__(self) -> str:
        return self.format()
