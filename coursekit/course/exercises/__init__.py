"""Exercises: stable ids, self-checks with helpful messages, and the fallback to the library.

Every exercise of the course re-implements one small library function with the same signature.
In a notebook, the cell after the exercise runs::

    euler_maruyama = ck.check("sde.euler_maruyama", euler_maruyama)

which runs the exercise's checks on the student's function, prints one line (passed, not done
yet, or which check failed and why), and returns the function that later cells use: the
student's when every check passes, the library's reference otherwise. So a notebook with blank
exercises still runs top to bottom.

The same checks are the grading tests of the instructor's grader, which runs them twice: in the
student's process with a recording stand-in for the function (:mod:`coursekit.course.grading.verdict`),
which keeps only what the student's function returned, and in the grader's own process with a
stand-in that replays those outputs, where the verdict is taken. A check therefore reaches the
student's code only by calling ``fn(...)`` (or :func:`probe` for work on the outputs that must happen
next to the call, such as differentiating through them); its inputs come from :func:`generator`
seeds, which the grader offsets by a secret (``salt``) sent after the student's code is defined.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "Check",
    "CheckFailed",
    "CheckResult",
    "Exercise",
    "StudentError",
    "check",
    "check_seed",
    "expect_close",
    "expect_shape",
    "generator",
    "get_exercise",
    "list_exercises",
    "name_mistake",
    "probe",
    "register",
    "run_checks",
    "salted",
]


class CheckFailed(AssertionError):
    """Raised by a check with a message that tells the student what is wrong and how to fix it."""


class StudentError(Exception):
    """The student's function raised (replayed by the grader): the message is ``"Type: text"``."""


_SALT = [0]  # the grader's secret offset of every check seed (0 in a notebook)


def check_seed(salt: int, key: object) -> int:
    """The seed of a check's input ``key`` (an int seed or a check's name) under the grader's ``salt``."""
    if not salt:
        return key if isinstance(key, int) else int.from_bytes(hashlib.sha256(str(key).encode()).digest()[:7], "big")
    return int.from_bytes(hashlib.sha256(f"{salt}:{key}".encode()).digest()[:7], "big")


def generator(seed: int) -> torch.Generator:
    """A CPU generator for a check's inputs: seeded by ``seed``, offset by the grader's secret salt."""
    return torch.Generator().manual_seed(check_seed(_SALT[0], seed))


@contextlib.contextmanager
def salted(salt: int) -> Iterator[None]:
    """Run checks with their seeds offset by ``salt`` (the grader's secret; 0 leaves them as written)."""
    previous, _SALT[0] = _SALT[0], int(salt)
    try:
        yield
    finally:
        _SALT[0] = previous


def probe(fn: Callable, compute: Callable[[], object]) -> object:
    """``compute()``, a step of a check that calls ``fn`` and works on its outputs in the same process.

    Use it when the outputs cannot travel alone, e.g. a gradient through them: under the grader,
    ``compute`` runs next to the student's code and only its result reaches the verdict.
    """
    return fn.probe(compute) if hasattr(fn, "probe") else compute()


@dataclass(frozen=True)
class Check:
    """One named check of an exercise: ``run(fn)`` raises :class:`CheckFailed` when ``fn`` is wrong."""

    name: str
    run: Callable[[Callable], None]
    points: int = 1


@dataclass(frozen=True)
class Exercise:
    """An exercise: a stable id, the library's reference function, and its checks."""

    id: str
    reference: Callable
    checks: tuple[Check, ...]
    chapter: str
    function_name: str = ""

    @property
    def reference_name(self) -> str:
        """Dotted name of the reference, e.g. ``coursekit.sde.solvers.euler_maruyama``."""
        return f"{self.reference.__module__}.{self.reference.__qualname__}"

    @property
    def points(self) -> int:
        """Total points of the exercise's checks."""
        return sum(c.points for c in self.checks)


@dataclass(frozen=True)
class CheckResult:
    """Outcome of :func:`run_checks`.

    Attributes:
        exercise_id: The exercise.
        status: ``"passed"``, ``"not done"`` or ``"failed"``.
        passed: Names of the checks that passed.
        failed: ``(check name, message)`` for each check that failed.
        points: Points earned; ``max_points`` the points possible.
    """

    exercise_id: str
    status: str
    passed: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    points: int
    max_points: int

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return self.status == "passed"


_REGISTRY: dict[str, Exercise] = {}


def register(
    exercise_id: str, reference: Callable, chapter: str, checks: list[Check], function_name: str = ""
) -> Exercise:
    """Register an exercise (done by the chapter modules of this package at import)."""
    exercise = Exercise(exercise_id, reference, tuple(checks), chapter, function_name or reference.__name__)
    _REGISTRY[exercise_id] = exercise
    return exercise


def list_exercises(chapter: str | None = None) -> list[str]:
    """Ids of all registered exercises (of one chapter if given), in registration order."""
    return [k for k, e in _REGISTRY.items() if chapter is None or e.chapter == chapter]


def get_exercise(exercise_id: str) -> Exercise:
    """Look up an exercise by id; an unknown id raises ``KeyError`` naming the closest ones."""
    if exercise_id not in _REGISTRY:
        close = difflib.get_close_matches(str(exercise_id), _REGISTRY, n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"unknown exercise id {exercise_id!r}.{hint}")
    return _REGISTRY[exercise_id]


def _describe(error: BaseException) -> str:
    if isinstance(error, StudentError):
        return str(error)
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def run_checks(exercise_id: str, fn: Callable, *, salt: int = 0) -> CheckResult:
    """Run every check of an exercise on ``fn`` and collect the results (never raises for ``fn``'s errors).

    ``salt`` offsets every seed of the checks (the grader's secret); with a ``begin_check`` method,
    ``fn`` is told the name of each check before it runs (the grader's record and replay).
    """
    exercise = get_exercise(exercise_id)
    if not callable(fn):
        not_callable = tuple((c.name, f"expected a function, got {type(fn).__name__}") for c in exercise.checks)
        return CheckResult(exercise_id, "failed", (), not_callable, 0, exercise.points)
    passed: list[str] = []
    failed: list[tuple[str, str]] = []
    not_done = False
    points = 0
    for c in exercise.checks:
        if hasattr(fn, "begin_check"):
            fn.begin_check(c.name)
        try:
            with torch.random.fork_rng(devices=[]), salted(salt):  # a check never moves the notebook's RNG
                torch.manual_seed(check_seed(salt, c.name))
                c.run(fn)
        except NotImplementedError:
            not_done = True
            failed.append((c.name, "not implemented yet"))
        except CheckFailed as error:
            failed.append((c.name, str(error)))
        except Exception as error:  # the student's code raised: report it, do not crash
            failed.append((c.name, f"your function raised {_describe(error)}"))
        else:
            passed.append(c.name)
            points += c.points
    status = "passed" if not failed else ("not done" if not_done and not passed else "failed")
    return CheckResult(exercise_id, status, tuple(passed), tuple(failed), points, exercise.points)


def check(exercise_id: str, fn: Callable, *, quiet: bool = False) -> Callable:
    """Self-check an exercise, print one line, and return the function later cells should use.

    Args:
        exercise_id: The exercise's stable id, e.g. ``"sde.euler_maruyama"``.
        fn: The student's function.
        quiet: Do not print.

    Returns:
        ``fn`` when every check passes, otherwise the library's reference implementation.
    """
    result = run_checks(exercise_id, fn)
    exercise = get_exercise(exercise_id)
    name = getattr(fn, "__name__", exercise.function_name)
    fallback = f"Later cells use the library's {exercise.reference_name} instead."
    if result.ok:
        checks = "the check" if len(result.passed) == 1 else f"all {len(result.passed)} checks"
        line = f"[passed] {exercise_id}: {checks} passed. Later cells use your {name}."
    elif result.status == "not done":
        line = f"[not done yet] {exercise_id}: {name} raises NotImplementedError. {fallback}"
    else:
        check_name, message = result.failed[0]
        message = message if message.endswith((".", "?", "!")) else message + "."
        more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
        line = (
            f"[failed] {exercise_id}: {len(result.passed)}/{len(exercise.checks)} checks passed; "
            f"check '{check_name}' failed{more}: {message} {fallback}"
        )
    if not quiet:
        print(line)
    return fn if result.ok else exercise.reference


def expect_shape(value: object, shape: tuple[int, ...], what: str) -> Tensor:
    """Fail with a clear message unless ``value`` is a tensor of shape ``shape``."""
    if not isinstance(value, Tensor):
        raise CheckFailed(f"{what} should be a torch.Tensor of shape {shape}, got {type(value).__name__}")
    if tuple(value.shape) != tuple(shape):
        raise CheckFailed(f"{what} should have shape {tuple(shape)}, got {tuple(value.shape)}")
    return value


def expect_close(value: Tensor, expected: Tensor, what: str, *, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """Fail with the largest error and where it occurs unless ``value`` is close to ``expected``."""
    expect_shape(value, tuple(expected.shape), what)
    value = value.detach().to(expected.dtype)
    if not torch.isfinite(value).all():
        raise CheckFailed(f"{what} contains NaN or inf")
    error = (value - expected).abs()
    bad = error > atol + rtol * expected.abs()
    if bad.any():
        index = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise CheckFailed(
            f"{what} differs from the expected value: at index {index} you return "
            f"{value[index].item():.6g}, expected {expected[index].item():.6g} (largest error {error.max().item():.3g})"
        )


def name_mistake(value: object, expected: Tensor, mistakes: dict[str, Tensor], *, atol: float = 1e-8) -> None:
    """Fail with the mistake's message when ``value`` matches what that mistake computes (not the answer)."""
    if not isinstance(value, Tensor) or tuple(value.shape) != tuple(expected.shape):
        return
    value = value.detach().to(expected.dtype)
    for message, wrong in mistakes.items():
        if not torch.allclose(wrong, expected, atol=atol, rtol=0) and torch.allclose(value, wrong, atol=atol, rtol=0):
            raise CheckFailed(message)


# registering the chapters' exercises, in chapter order
from coursekit.course.exercises import sde_basics as _sde_basics  # noqa: E402,F401,I001  (Chapter 1)
from coursekit.course.exercises import fokker_planck as _fokker_planck  # noqa: E402,F401  (Chapter 2)
from coursekit.course.exercises import cnf as _cnf  # noqa: E402,F401  (Chapter 3)
from coursekit.course.exercises import ot_flow as _ot_flow  # noqa: E402,F401  (Chapter 4)
from coursekit.course.exercises import flow_matching as _flow_matching  # noqa: E402,F401  (Chapter 5)
from coursekit.course.exercises import diffusion as _diffusion  # noqa: E402,F401  (Chapter 6)
from coursekit.course.exercises import guidance as _guidance  # noqa: E402,F401  (Chapter 7)
from coursekit.course.exercises import manifolds as _manifolds  # noqa: E402,F401  (Chapter 8)
from coursekit.course.exercises import comparison as _comparison  # noqa: E402,F401  (Chapter 9)
