"""The one validation of a name that selects a method, a schedule or a parameterization (private).

Every string option of the library (``method="dopri5"``, ``get_schedule("cosine")``,
``parameterization="noise"``, ...) is checked by :func:`check_choice`, so that a typo raises one
kind of message everywhere: what was asked for, the valid names, and the closest one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["check_choice"]


def check_choice(value: str, valid: Iterable[str], what: str) -> str:
    """Return ``value`` if it is one of ``valid``, else raise a ``ValueError`` with a did-you-mean hint.

    Args:
        value: The name the caller passed.
        valid: The accepted names (a tuple, a list or the keys of a dict).
        what: What the name selects, for the message, e.g. ``"ODE method"`` or ``"schedule"``.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: ``unknown <what> <value>; valid names: [...]. Did you mean '<closest>'?``

    Example:
        >>> check_choice("rk4", ("euler", "rk4"), "ODE method")
        'rk4'
        >>> check_choice("rk5", ("euler", "rk4"), "ODE method")
        Traceback (most recent call last):
        ...
        ValueError: unknown ODE method 'rk5'; valid names: ['euler', 'rk4']. Did you mean 'rk4'?
    """
    names = list(valid)
    if isinstance(value, str) and value in names:
        return value
    close = difflib.get_close_matches(str(value), names, n=1) if isinstance(value, str) else []
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown {what} {value!r}; valid names: {sorted(names)}.{hint}")
