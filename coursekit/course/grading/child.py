r"""The grading child process: run one submission's exercise code on the checks' inputs, report the outputs.

Started by :mod:`coursekit.course.grading.runner` as ``python -m coursekit.course.grading.child FD`` in an empty
working folder, with the request (exercise code, trusted preamble, limits, hidden tests) as the
first line of stdin. In order, before any student code runs, it

1. limits its own address space (``RLIMIT_AS``) and file sizes (``RLIMIT_FSIZE``);
2. runs the trusted preamble (imports only) and loads the instructor's hidden tests;
3. takes a fingerprint of every trusted object: the namespaces of all ``coursekit`` modules and
   classes, the exercise registry and each check (function, code, defaults, closure), the hidden
   tests, ``torch``, ``torch.Tensor``, ``math``, ``builtins``, ``os``, ``io``, ``json``;
4. installs an audit hook (PEP 578, it cannot be removed) that refuses to open files for writing
   outside the working folder, to start processes, to open sockets, to load C libraries with
   ``ctypes`` and to signal other processes;
5. replaces ``sys.stdout``/``sys.stderr`` by a sink that counts and drops what is printed.

Then, for each exercise: it runs the exercise's code in a fresh namespace (each cell on its own,
in order: an earlier copy that raises is noted, and the last definition is graded), tells the parent
(``defined``) and reads the exercise's secret salt from stdin, then runs the checks of
:mod:`coursekit.course.exercises` and the hidden tests with a recorder in place of the student's
function (:mod:`~coursekit.course.grading.verdict`): what the function returned on each check's
inputs is sent, not whether it passed. It compares the fingerprint again. A changed trusted
object makes the exercise ``"tampered"`` (0 points), and the child stops, so the remaining
exercises run in a fresh child. Each message goes as one JSON line, with a nonce from the parent,
to the pipe ``FD``. The parent replays the checks on the outputs and takes the verdict itself;
nothing here decides a point. Chapter: every (instructors' grading).
"""

from __future__ import annotations

import builtins
import errno
import json
import os
import resource
import sys
import types
from collections.abc import Callable
from typing import Any

from coursekit.course.grading.guard import Guard, Sink, changed, fingerprint, namespaces
from coursekit.course.grading.verdict import load_hidden, record

__all__ = ["main"]


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _is_memory(error: BaseException) -> bool:
    return isinstance(error, MemoryError) or "can't allocate memory" in str(error)


def _wrap(fn: Callable, state: dict) -> Callable:
    """The student's function as the checks see it: exits and memory errors become exceptions."""
    import torch

    from coursekit.course.exercises import CheckFailed

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
            if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                state["disk"] = True
            raise
        plain(value)
        return value

    student.__name__ = getattr(fn, "__name__", "student")
    return student


def _grade_one(item: dict, preamble: dict, hidden: dict, defined: Callable[[], int]) -> dict:
    """Run one exercise's code, then record its function's outputs on the checks' inputs.

    ``defined()`` tells the parent that the code ran and returns the secret salt of the inputs.
    """
    import base64

    import torch

    from coursekit.course.exercises import get_exercise

    exercise_id, name = item["id"], item["function_name"]
    report: dict[str, Any] = {"id": exercise_id, "passed": [], "failed": [], "hidden_passed": [], "hidden_failed": []}
    namespace = dict(preamble)
    parts = item.get("parts") or [item["source"]]
    cells = item.get("cells") or [None] * len(parts)
    failures: list[tuple[int, str, str]] = []  # (part, status, message)
    last_definition = -1
    for k, part in enumerate(parts):  # each copy on its own, in order: the last definition counts
        before = namespace.get(name)
        try:
            code = compile(part, f"<submission {exercise_id}>", "exec")
        except SyntaxError as error:
            failures.append((k, "error", f"syntax error on line {error.lineno}: {error.msg}"))
            continue
        try:
            with torch.random.fork_rng(devices=[]):
                exec(code, namespace)
        except BaseException as error:  # noqa: BLE001  (exit() included: the child must go on)
            status = "memory" if _is_memory(error) else "error"
            failures.append((k, status, f"running the exercise cell raised {_describe(error)}"))
        if namespace.get(name) is not before:
            last_definition = k
    late = [f for f in failures if f[0] >= last_definition]
    if late:
        return {**report, "status": late[0][1], "message": late[0][2]}

    def where(k: int) -> str:
        return f"cell {cells[k]}" if cells[k] is not None else "an earlier cell"

    report["notes"] = [
        f"an earlier copy of {name} ({where(k)}) failed ({message}); the last definition was graded"
        for k, _, message in failures
    ]
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

    salt = defined()
    sys.setprofile(profile)
    try:
        outputs = record(exercise_id, student, hidden, salt)
    finally:
        sys.setprofile(None)
    report.update(status="recorded", outputs=base64.b64encode(outputs).decode("ascii"))
    report["calls_reference"] = bool(state.get("calls_reference"))
    report.update(memory=bool(state.get("memory")), disk=bool(state.get("disk")), exit=bool(state.get("exit")))
    return report


def main() -> None:
    """Entry point of the child (``python -m coursekit.course.grading.child FD``)."""
    out = os.fdopen(int(sys.argv[1]), "w", buffering=1)
    stdin = os.fdopen(os.dup(0), "rb")  # exit() closes sys.stdin: the salts come through a copy of fd 0
    request = json.loads(stdin.readline())
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
    hidden, hidden_spaces = load_hidden(request["hidden"])
    spaces = namespaces(hidden_spaces, sys.modules[__name__])
    before = fingerprint(spaces)
    os.makedirs(request["workdir"], exist_ok=True)
    guard = Guard(request["workdir"], request.get("disk_mb", 1 << 40) * 2**20)
    sys.addaudithook(guard)
    sink = Sink()
    sys.stdout = sys.stderr = sink
    send({"event": "ready"})
    for item in request["exercises"]:
        send({"event": "start", "id": item["id"]})
        guard.violations.clear()
        sink.count = 0
        guard.armed = True

        def defined(exercise_id: str = item["id"]) -> int:
            send({"event": "defined", "id": exercise_id})
            line = stdin.readline()
            return int(json.loads(line)["salt"])

        report = _grade_one(item, preamble, hidden, defined)
        guard.armed = False
        altered = changed(before, fingerprint(spaces))
        report["printed"] = sink.count
        if guard.violations:
            report.update(status="forbidden", message=f"the code tried {guard.violations[0]}, which is not allowed")
        if altered:
            report.update(status="tampered", message=f"the code changed the grader's {altered[0]}")
        send({"event": "result", **report})
        if altered:
            break
    out.close()
    os._exit(0)


if __name__ == "__main__":
    main()
