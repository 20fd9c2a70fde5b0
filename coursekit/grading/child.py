r"""The grading child process: run one submission's exercise code and the checks, report each result.

Started by :mod:`coursekit.grading.runner` as ``python -m coursekit.grading.child FD`` in an empty
working folder, with the request (exercise code, trusted preamble, limits, hidden tests) on
stdin. In order, before any student code runs, it

1. limits its own address space (``RLIMIT_AS``) and file sizes (``RLIMIT_FSIZE``);
2. runs the trusted preamble (imports only) and loads the instructor's hidden tests;
3. takes a fingerprint of every trusted object: the namespaces of all ``coursekit`` modules and
   classes, the exercise registry and each check (function, code, defaults, closure), the hidden
   tests, ``torch``, ``torch.Tensor``, ``math``, ``builtins``, ``os``, ``io``, ``json``;
4. installs an audit hook (PEP 578, it cannot be removed) that refuses to open files for writing
   outside the working folder, to start processes, to open sockets, to load C libraries with
   ``ctypes`` and to signal other processes;
5. replaces ``sys.stdout``/``sys.stderr`` by a sink that counts and drops what is printed.

Then, for each exercise: it runs the exercise's code in a fresh namespace, runs the checks of
:mod:`coursekit.exercises` and the hidden tests on the student's function, and compares the
fingerprint again. A changed trusted object makes the exercise ``"tampered"`` (0 points), and the
child stops, so the remaining exercises run in a fresh child. Each result goes as one JSON line,
with a nonce from the parent, to the pipe ``FD``. The parent recomputes the points from the check
names and never trusts a number from here. Chapter: every (instructors' grading).
"""

from __future__ import annotations

import builtins
import io
import json
import math
import os
import resource
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["main"]

_FORBIDDEN_EVENTS = {
    "subprocess.Popen": "starting a process",
    "os.system": "starting a process",
    "os.exec": "starting a process",
    "os.posix_spawn": "starting a process",
    "os.spawn": "starting a process",
    "os.fork": "starting a process",
    "os.forkpty": "starting a process",
    "pty.spawn": "starting a process",
    "socket.connect": "network access",
    "socket.bind": "network access",
    "socket.sendto": "network access",
    "ctypes.dlopen": "loading a C library",
    "ctypes.dlsym": "loading a C library",
}
_PATH_EVENTS = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink", "os.link")
_PATH_EVENTS += ("os.truncate", "os.utime", "shutil.rmtree", "shutil.move", "os.chdir")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class _Guard:
    """Audit hook: refuse what a grading function never needs to do, and remember it."""

    def __init__(self, workdir: str) -> None:
        self.workdir = os.path.realpath(workdir)
        self.violations: list[str] = []
        self.armed = False

    def _inside(self, path: object, realpath: Callable = os.path.realpath, fsdecode: Callable = os.fsdecode) -> bool:
        if isinstance(path, int) or path is None:
            return True
        full = realpath(fsdecode(path))
        return full == self.workdir or full.startswith(self.workdir + os.sep) or full == "/dev/null"

    def refuse(self, what: str) -> None:
        self.violations.append(what)
        raise PermissionError(f"the grader does not allow {what}")

    def __call__(self, event: str, args: tuple) -> None:
        if not self.armed:
            return
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            if writing and not self._inside(path):
                self.refuse(f"writing to {os.fsdecode(path)} (outside the working folder)")
        elif event in _FORBIDDEN_EVENTS:
            self.refuse(_FORBIDDEN_EVENTS[event])
        elif event in _PATH_EVENTS:
            paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
            if not all(self._inside(p) for p in paths):
                self.refuse(f"{event} outside the working folder")
        elif event == "os.kill" and args[0] not in (0, os.getpid()):
            self.refuse("signalling another process")
        elif event == "os.killpg" and args[0] not in (0, os.getpgid(0)):
            self.refuse("signalling another process group")


class _Sink(io.TextIOBase):
    """Stands for stdout and stderr: counts what is printed, keeps nothing."""

    def __init__(self) -> None:
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.count += len(text)
        return len(text)


def _namespaces(extra: list[tuple[str, dict]]) -> list[tuple[str, Any]]:
    """Every namespace holding a trusted object, captured once before student code runs."""
    import coursekit.exercises as exercises
    import torch

    try:  # imported lazily by torch.func and friends, torch._dynamo rebinds torch.manual_seed: import it first
        import torch._dynamo  # noqa: F401
    except Exception:  # pragma: no cover - a torch without dynamo
        pass

    modules = [m for n, m in list(sys.modules.items()) if n.split(".")[0] == "coursekit" and m is not None]
    modules += [torch, torch.nn, torch.nn.functional, torch.linalg, torch.random, torch.distributions]
    modules += [math, builtins, os, os.path, io, json, json.encoder, sys.modules[__name__]]
    spaces: list[tuple[str, Any]] = [(m.__name__, vars(m)) for m in modules]
    classes = [*type.mro(torch.Tensor), torch.Generator]
    for m in modules:
        if m.__name__.split(".")[0] == "coursekit":
            classes += [v for v in vars(m).values() if isinstance(v, type) and v.__module__.startswith("coursekit")]
    spaces += [(f"class {c.__qualname__}", vars(c)) for c in dict.fromkeys(classes)]
    spaces.append(("registry", exercises._REGISTRY))
    for exercise in exercises._REGISTRY.values():
        spaces.append((f"exercise {exercise.id}", vars(exercise)))
        spaces += [(f"check {exercise.id}: {c.name}", vars(c)) for c in exercise.checks]
    return spaces + extra


def _function_print(f: types.FunctionType) -> tuple:
    cells = []
    for cell in f.__closure__ or ():
        try:
            cells.append(id(cell.cell_contents))
        except ValueError:  # an empty cell
            cells.append(0)
    return (id(f.__code__), id(f.__defaults__), id(f.__kwdefaults__), id(f.__globals__), tuple(cells))


def _fingerprint(spaces: list[tuple[str, Any]]) -> dict[str, tuple]:
    prints: dict[str, tuple] = {}
    for label, space in spaces:
        for key, value in list(space.items()):
            extra = _function_print(value) if isinstance(value, types.FunctionType) else ()
            prints[f"{label}.{key}"] = (id(value), *extra)
    return prints


def _changed(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    return [key for key, value in before.items() if after.get(key) != value]


def _load_hidden(paths: list[str]) -> tuple[dict[str, list[tuple[str, Callable]]], list[tuple[str, dict]]]:
    """Run the instructor's hidden-test files; map each exercise key to its test functions."""
    tests: dict[str, list[tuple[str, Callable]]] = {}
    spaces = []
    for path in paths:
        namespace: dict[str, Any] = {"__name__": f"hidden_{Path(path).stem}", "__file__": path}
        exec(compile(Path(path).read_text(), path, "exec"), namespace)
        spaces.append((f"hidden {path}", namespace))
        for name, value in namespace.items():
            if name.startswith("test_") and callable(value):
                tests.setdefault(name, []).append((name, value))
    return tests, spaces


def _hidden_for(exercise_id: str, tests: dict[str, list[tuple[str, Callable]]]) -> list[tuple[str, Callable]]:
    key = "test_" + exercise_id.replace(".", "_")
    return [t for name, found in tests.items() if name == key or name.startswith(key + "__") for t in found]


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _is_memory(error: BaseException) -> bool:
    return isinstance(error, MemoryError) or "can't allocate memory" in str(error)


def _wrap(fn: Callable, state: dict) -> Callable:
    """The student's function as the checks see it: exits and memory errors become exceptions."""
    import torch

    from coursekit.exercises import CheckFailed

    def plain(value: object) -> None:
        if isinstance(value, (tuple, list)):
            for item in value:
                plain(item)
        elif isinstance(value, torch.Tensor) and type(value) is not torch.Tensor:
            raise CheckFailed(f"return a plain torch.Tensor, not a {type(value).__name__}")

    def student(*args: object, **kwargs: object) -> object:
        try:
            value = fn(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt, GeneratorExit) as error:
            state["exit"] = True
            raise RuntimeError(f"your function called exit() ({type(error).__name__})") from None
        except Exception as error:
            if _is_memory(error):
                state["memory"] = True
                raise MemoryError("over the grader's memory limit") from None
            raise
        plain(value)
        return value

    student.__name__ = getattr(fn, "__name__", "student")
    return student


def _grade_one(item: dict, preamble: dict, hidden: dict, guard: _Guard) -> dict:
    """Run one exercise's code, then its checks and hidden tests, and describe the outcome."""
    import torch

    from coursekit.exercises import get_exercise, run_checks

    exercise_id, name = item["id"], item["function_name"]
    report: dict[str, Any] = {"id": exercise_id, "passed": [], "failed": [], "hidden_passed": [], "hidden_failed": []}
    namespace = dict(preamble)
    try:
        code = compile(item["source"], f"<submission {exercise_id}>", "exec")
    except SyntaxError as error:
        return {**report, "status": "error", "message": f"syntax error on line {error.lineno}: {error.msg}"}
    try:
        with torch.random.fork_rng(devices=[]):
            exec(code, namespace)
    except BaseException as error:  # noqa: BLE001  (exit() included: the child must go on)
        status = "memory" if _is_memory(error) else "error"
        return {**report, "status": status, "message": f"running the exercise cell raised {_describe(error)}"}
    fn = namespace.get(name)
    if not callable(fn):
        return {**report, "status": "missing", "message": f"the exercise code does not define a function {name}"}
    state: dict[str, bool] = {}
    student = _wrap(fn, state)
    reference = getattr(get_exercise(exercise_id).reference, "__code__", None)

    def profile(frame: types.FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code is reference:
            caller = frame.f_back
            while caller is not None:
                if caller.f_code.co_filename.startswith("<submission"):
                    state["calls_reference"] = True
                    return
                caller = caller.f_back

    sys.setprofile(profile)
    try:
        result = run_checks(exercise_id, student)
        for test_name, test in _hidden_for(exercise_id, hidden):
            try:
                with torch.random.fork_rng(devices=[]):
                    test(student)
            except BaseException:  # noqa: BLE001  (a hidden test's message is not shown)
                report["hidden_failed"].append(test_name)
            else:
                report["hidden_passed"].append(test_name)
    finally:
        sys.setprofile(None)
    report.update(passed=list(result.passed), failed=[list(f) for f in result.failed], status=result.status)
    report["calls_reference"] = bool(state.get("calls_reference"))
    if state.get("memory") and not result.ok:
        report["status"] = "memory"
    if state.get("exit"):
        report["message"] = "the function called exit(); the grader carried on"
    return report


def main() -> None:
    """Entry point of the child (``python -m coursekit.grading.child FD``)."""
    out = os.fdopen(int(sys.argv[1]), "w", buffering=1)
    request = json.loads(sys.stdin.read())
    dumps, nonce = json.dumps, request["nonce"]

    def send(message: dict) -> None:
        out.write(dumps({**message, "nonce": nonce}) + "\n")
        out.flush()

    memory = request["memory_mb"] * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (request["fsize_mb"] * 2**20,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    import torch

    torch.set_num_threads(1)
    preamble: dict[str, Any] = {"__name__": "__submission__", "__builtins__": builtins}
    exec(compile(request["preamble"], "<preamble>", "exec"), preamble)
    hidden, hidden_spaces = _load_hidden(request["hidden"])
    spaces = _namespaces(hidden_spaces)
    before = _fingerprint(spaces)
    guard = _Guard(request["workdir"])
    sys.addaudithook(guard)
    sink = _Sink()
    sys.stdout = sys.stderr = sink
    send({"event": "ready"})
    for item in request["exercises"]:
        send({"event": "start", "id": item["id"]})
        guard.violations.clear()
        sink.count = 0
        guard.armed = True
        report = _grade_one(item, preamble, hidden, guard)
        guard.armed = False
        changed = _changed(before, _fingerprint(spaces))
        report["printed"] = sink.count
        if guard.violations:
            report.update(status="forbidden", message=f"the code tried {guard.violations[0]}, which is not allowed")
        if changed:
            report.update(status="tampered", message=f"the code changed the grader's {changed[0]}")
        send({"event": "result", **report})
        if changed:
            break
    out.close()
    os._exit(0)


if __name__ == "__main__":
    main()
