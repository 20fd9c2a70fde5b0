r"""The verdict outside the student's process: record the student's outputs there, judge them here.

The grading child runs each check of :mod:`coursekit.course.exercises` (and each hidden test) with
a :class:`Recorder` in place of the student's function: it calls the function, keeps what it
returned (tensors, numbers, tuples, dicts, the library's result dataclasses) or what it raised,
and nothing else. The child's verdict is thrown away; :func:`record` turns the outputs into bytes
(``torch.save``, at most :data:`MAX_BYTES`). The grader then runs the same checks in its own
process with a :class:`Replayer`, which answers each call with the recorded output
(:func:`judge`). The check code is deterministic given its seeds (the explicit generators and
``torch``'s global RNG are seeded per check, offset by a secret salt the parent sends only after the
student's code is defined), so the replay follows the child's run call by call; a forged message
from the child can only carry outputs, and those must be right to pass. Chapter: every
(instructors' grading).
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import io
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from coursekit.course.exercises import CheckFailed, StudentError, check_seed, get_exercise, run_checks, salted

__all__ = ["MAX_BYTES", "Recorder", "Replayer", "judge", "load_hidden", "record", "verdict"]

MAX_BYTES = 48 * 2**20  # the outputs of one exercise, all checks together
_CHILD_STATUSES = ("missing", "error", "memory", "tampered", "forbidden")  # what a child may report itself
_LOCK = threading.Lock()  # replays seed torch's global RNG: one at a time per grader process


def _encode(value: object, budget: list[int]) -> object:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        budget[0] -= value.numel() * value.element_size()
        if budget[0] < 0:
            raise CheckFailed(f"your function returned more than {MAX_BYTES >> 20} MiB in all, too much to grade")
        grad = bool(value.requires_grad)
        return {"~": "t", "v": value.detach().cpu().clone(), "g": grad}
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):
        return {"~": "nt", "c": _name(type(value)), "v": [_encode(v, budget) for v in value]}
    if isinstance(value, (tuple, list)):
        return {
            "~": type(value).__name__ if type(value) in (tuple, list) else "tuple",
            "v": [_encode(v, budget) for v in value],
        }
    if isinstance(value, dict) and all(isinstance(k, (str, int)) for k in value):
        return {"~": "d", "v": [[k, _encode(v, budget)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _encode(getattr(value, f.name), budget) for f in dataclasses.fields(value)}
        return {"~": "dc", "c": _name(type(value)), "v": fields}
    raise CheckFailed(f"return tensors (or tuples of them), not a {type(value).__name__}")


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _library_class(name: object) -> type | None:
    module, _, qualname = str(name).partition(":")
    if not module.startswith("coursekit."):
        return None
    try:
        value: Any = importlib.import_module(module)
        for part in qualname.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError):
        return None
    return value if isinstance(value, type) else None


def _decode(node: object) -> object:
    if not isinstance(node, dict):
        return node
    kind, value = node.get("~"), node.get("v")
    if kind == "t" and isinstance(value, torch.Tensor):
        if node.get("g") and (value.is_floating_point() or value.is_complex()):
            value.requires_grad_(True)
        return value
    if kind in ("tuple", "list", "nt") and isinstance(value, list):
        items = [_decode(v) for v in value]
        cls = _library_class(node.get("c")) if kind == "nt" else None
        if cls is not None and issubclass(cls, tuple) and hasattr(cls, "_fields"):
            return cls(*items)  # type: ignore[arg-type]  # a namedtuple class takes its fields, not one iterable
        return items if kind == "list" else tuple(items)
    if kind == "d" and isinstance(value, list) and all(isinstance(kv, list) and len(kv) == 2 for kv in value):
        return {k: _decode(v) for k, v in value}
    if kind == "dc" and isinstance(value, dict):
        fields = {k: _decode(v) for k, v in value.items()}
        cls = _library_class(node.get("c"))
        if cls is not None and dataclasses.is_dataclass(cls):
            try:
                return cls(**fields)
            except TypeError:
                pass
        return types.SimpleNamespace(**fields)
    raise ValueError(f"unknown output kind {kind!r}, or one holding a {type(value).__name__} it cannot hold")


def _describe(error: BaseException) -> str:
    if isinstance(error, StudentError):
        return str(error)
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class Recorder:
    """The student's function in the grading child: calls it and records each outcome per check."""

    def __init__(self, fn: Callable) -> None:
        self.fn, self.depth, self.budget = fn, 0, [MAX_BYTES]
        self.calls: dict[str, list[list[object]]] = {}
        self.current: list[list[object]] = []
        self.__name__ = getattr(fn, "__name__", "student")

    def begin_check(self, name: str) -> None:
        """Start the list of outcomes of check ``name``."""
        self.current = self.calls.setdefault(name, [])

    def _outcome(self, compute: Callable[[], object]) -> object:
        if self.depth:  # inside a probe: the probe's result is what is recorded
            return compute()
        self.depth += 1
        try:
            value = compute()
        except NotImplementedError:
            self.current.append(["not done"])
            raise
        except CheckFailed as error:
            self.current.append(["check", str(error)])
            raise
        except Exception as error:
            self.current.append(["raised", _describe(error)])
            raise
        finally:
            self.depth -= 1
        try:
            self.current.append(["returned", _encode(value, self.budget)])
        except CheckFailed as error:
            self.current.append(["check", str(error)])
            raise
        return value

    def __call__(self, *args: object, **kwargs: object) -> object:
        """Call the student's function and record what it returned or raised."""
        return self._outcome(lambda: self.fn(*args, **kwargs))

    def probe(self, compute: Callable[[], object]) -> object:
        """Run a check's ``compute`` (which calls the function) and record its result."""
        return self._outcome(compute)


class Replayer:
    """The student's function in the grader: answers each call of a check with the recorded outcome."""

    def __init__(self, calls: dict[str, list], name: str = "student") -> None:
        self.calls = calls
        self.queue: list[object] = []
        self.__name__ = name

    def begin_check(self, name: str) -> None:
        """Replay the outcomes recorded for check ``name`` from now on."""
        self.queue = list(self.calls.get(name, []))

    def __call__(self, *args: object, **kwargs: object) -> object:
        """The next recorded outcome: returned (decoded) or raised again."""
        if not self.queue:
            raise CheckFailed("the grader could not replay this check (did your function change its inputs in place?)")
        outcome = self.queue.pop(0)
        kind, *rest = outcome if isinstance(outcome, (list, tuple)) and outcome else (None,)
        if kind == "returned" and len(rest) == 1:
            return _decode(rest[0])
        if kind == "not done":
            raise NotImplementedError()
        if kind == "check" and len(rest) == 1:
            raise CheckFailed(str(rest[0]))
        if kind == "raised" and len(rest) == 1:
            raise StudentError(str(rest[0]))
        raise CheckFailed("the grader received an output it cannot read")

    def probe(self, compute: Callable[[], object]) -> object:
        """The recorded result of the probe (``compute`` ran in the child, not here)."""
        return self()


def load_hidden(paths: list[str]) -> tuple[dict[str, list[Callable]], list[tuple[str, dict]]]:
    """Run the instructor's hidden-test files; each test function by name, and the files' namespaces."""
    tests: dict[str, list[Callable]] = {}
    spaces = []
    for path in paths:
        namespace: dict[str, Any] = {"__name__": f"hidden_{Path(path).stem}", "__file__": path}
        exec(compile(Path(path).read_text(), path, "exec"), namespace)
        spaces.append((f"hidden {path}", namespace))
        for name, value in namespace.items():
            if name.startswith("test_") and callable(value):
                tests.setdefault(name, []).append(value)
    return tests, spaces


def _hidden_for(exercise_id: str, tests: dict[str, list[Callable]]) -> list[tuple[str, Callable]]:
    key = "test_" + exercise_id.replace(".", "_")
    return [(name, t) for name, found in tests.items() if name == key or name.startswith(key + "__") for t in found]


def _hidden(exercise_id: str, fn: Recorder | Replayer, tests: dict, salt: int) -> tuple[list[str], list[str]]:
    passed, failed = [], []
    for name, test in _hidden_for(exercise_id, tests):
        fn.begin_check("hidden " + name)
        try:
            with torch.random.fork_rng(devices=[]), salted(salt):
                torch.manual_seed(check_seed(salt, name))
                test(fn)
        except BaseException:  # noqa: BLE001  (a hidden test's message is not shown)
            failed.append(name)
        else:
            passed.append(name)
    return passed, failed


def record(exercise_id: str, fn: Callable, tests: dict[str, list[Callable]], salt: int) -> bytes:
    """In the child: run the checks and hidden tests on ``fn``; the bytes of what ``fn`` returned."""
    recorder = Recorder(fn)
    run_checks(exercise_id, recorder, salt=salt)
    _hidden(exercise_id, recorder, tests, salt)
    buffer = io.BytesIO()
    torch.save(recorder.calls, buffer)
    return buffer.getvalue()


def judge(exercise_id: str, blob: bytes, tests: dict[str, list[Callable]], salt: int, name: str = "student") -> dict:
    """In the grader: replay the checks and hidden tests on the recorded outputs; the verdict.

    Returns:
        ``{"status", "passed", "failed", "hidden_passed", "hidden_failed"}`` as the gradebook reads them.

    Raises:
        ValueError: When ``blob`` is not a record the grader can read.
    """
    try:
        calls = torch.load(io.BytesIO(blob), weights_only=True)
    except Exception as error:  # noqa: BLE001  (anything the child sent)
        raise ValueError(f"unreadable outputs ({type(error).__name__})") from None
    if not isinstance(calls, dict) or not all(isinstance(v, list) for v in calls.values()):
        raise ValueError("unreadable outputs")
    get_exercise(exercise_id)
    with _LOCK:
        result = run_checks(exercise_id, Replayer(calls, name), salt=salt)
        hidden_passed, hidden_failed = _hidden(exercise_id, Replayer(calls, name), tests, salt)
    return {
        "status": result.status,
        "passed": list(result.passed),
        "failed": [list(f) for f in result.failed],
        "hidden_passed": hidden_passed,
        "hidden_failed": hidden_failed,
    }


def verdict(report: dict, tests: dict, function_name: str) -> dict:
    """The grader's verdict on one report of the child: the checks replayed on its recorded outputs.

    Args:
        report: The child's ``result`` message, with the ``salt`` the parent sent for it.
        tests: The hidden tests (:func:`load_hidden`).
        function_name: The exercise's function name.

    Returns:
        The report as the gradebook reads it (``status``, ``passed``, ``failed``, ``hidden_passed``...).
    """
    kept = {k: v for k, v in report.items() if k not in ("outputs", "salt", "memory", "disk", "exit", "nonce", "event")}
    if report.get("status") != "recorded":  # an error, a missing function, tampering...: no points to take
        kept.update(passed=[], failed=[], hidden_passed=[], hidden_failed=[])
        if kept.get("status") not in _CHILD_STATUSES:  # "passed" and the like are the parent's to say
            kept.update(status="crashed", message="the child process sent a result the grader does not take")
        return kept
    salt = report.get("salt")
    if not isinstance(salt, int):  # a result the parent never sent a salt for
        return {**kept, "status": "crashed", "message": "the grader did not receive this exercise's outputs"}
    try:
        blob = base64.b64decode(str(report.get("outputs", "")), validate=True)
        verdict = judge(str(report["id"]), blob, tests, salt, function_name)
    except ValueError as error:
        return {**kept, "status": "crashed", "message": f"the grader could not read the function's outputs: {error}"}
    kept.update(verdict)
    if verdict["status"] != "passed":
        if report.get("memory"):
            kept["status"] = "memory"
        if report.get("disk"):
            kept.update(status="disk", message="over the grader's disk limit (the files of the working folder in all)")
    if report.get("exit"):
        kept["message"] = "the function called exit(); the grader carried on"
    return kept
