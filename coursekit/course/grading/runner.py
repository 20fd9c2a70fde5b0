r"""Run a submission's exercises in child processes with a time and a memory limit.

One child (:mod:`coursekit.course.grading.child`) runs the exercises of a submission in order and
reports, as each finishes, what the student's function returned on the checks' inputs; the seeds of
those inputs are offset by a secret sent only once the exercise's code is defined, and the verdict
is taken here, by replaying the checks on the outputs (:mod:`~coursekit.course.grading.verdict`).
When the child runs out of time, dies (``exit``, ``os._exit``, a signal, the memory limit) or stops
after tampering, the exercise it was on gets that status and the remaining exercises run in a fresh
child: only the affected exercises lose points. The time limit starts when the child is ready (after
importing ``torch``), so a loaded machine does not eat a student's time. The child runs under
bubblewrap or under its guard alone (:mod:`~coursekit.course.grading.sandbox`); its working folder
is capped in total (``disk_mb``), and :func:`~coursekit.course.grading.sandbox.stop_all` (Ctrl-C,
SIGTERM) kills it at once and makes :func:`run_exercises` raise
:class:`~coursekit.course.grading.sandbox.Interrupted`. Chapter: every (instructors' grading).
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from coursekit.course.grading import sandbox
from coursekit.course.grading.submission import ExerciseCode
from coursekit.course.grading.verdict import load_hidden, verdict

__all__ = ["Limits", "run_exercises"]

_STARTUP_S = 180.0  # importing torch on a loaded machine; not the student's time
_MAX_REPORT_BYTES = 320 << 20  # the recorded outputs of every exercise of one child run, base64


@dataclass(frozen=True)
class Limits:
    """Limits of one child process.

    Attributes:
        timeout_s: Seconds for the exercises of one child run (after its start-up).
        memory_mb: Address-space limit in MiB (``RLIMIT_AS``; ``torch`` alone maps about 1 GiB).
        fsize_mb: Largest file the child may write, in MiB.
        disk_mb: All the files of its working folder together, in MiB.
        isolation: ``"bubblewrap"``, ``"guard"`` or ``"auto"`` (see :mod:`~coursekit.course.grading.sandbox`).
        secret_inputs: Offset the checks' seeds by a secret drawn per exercise, sent to the child
            after the student's code is defined (``False``: the seeds of the notebook's self-check).
    """

    timeout_s: float = 60.0
    memory_mb: int = 3072
    fsize_mb: int = 64
    disk_mb: int = 256
    isolation: str = "auto"
    secret_inputs: bool = True


def _package_parent() -> str:
    import coursekit

    return str(Path(coursekit.__file__).resolve().parents[1])


def _environment(workdir: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": _package_parent(),
        "HOME": workdir,
        "TMPDIR": workdir,
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "LANG": "C.UTF-8",
    }
    return env


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not finish"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return f"was killed by {name}"
    return f"exited with code {code}"


def _disk_use(folder: str) -> int:
    """Bytes the files under ``folder`` occupy (blocks, so a sparse file counts what it holds)."""
    used = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            try:
                used += os.lstat(os.path.join(parent, name)).st_blocks * 512
            except OSError:
                pass
    return used


def _run_child(
    exercises: list[ExerciseCode], preamble: str, hidden: list[str], limits: Limits
) -> tuple[dict[str, dict], str | None, str]:
    """One child run: the results it reported, the exercise it was on when it stopped, and why."""
    nonce = secrets.token_hex(16)
    workdir = tempfile.mkdtemp(prefix="coursekit-grade-")
    boxed = sandbox.isolation(limits.isolation) == "bubblewrap"
    read_end, write_end = os.pipe()
    request = {
        "nonce": nonce,
        "workdir": sandbox.INSIDE_WORKDIR if boxed else os.path.join(workdir, "work"),
        "memory_mb": limits.memory_mb,
        "fsize_mb": limits.fsize_mb,
        "disk_mb": limits.disk_mb,
        "preamble": preamble,
        "hidden": hidden,
        "exercises": [
            {"id": e.exercise_id, "function_name": e.function_name, "source": e.source,
             "parts": list(e.parts), "cells": list(e.cells)}
            for e in exercises
        ],
    }  # fmt: skip
    os.mkdir(os.path.join(workdir, "work"))
    command = [sys.executable, "-s", "-B", "-m", "coursekit.course.grading.child", str(write_end)]
    if boxed:
        keep = [*hidden, _package_parent(), sys.prefix, os.path.dirname(sys.executable)]
        command = sandbox.wrap(command, limits.disk_mb * 2**20, keep)
    results: dict[str, dict] = {}
    current: str | None = None
    expected = [e.exercise_id for e in exercises]
    process = None
    try:
        with open(os.path.join(workdir, "stderr"), "wb") as stderr:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                pass_fds=(write_end,),
                cwd=os.path.join(workdir, "work"),
                env=_environment(os.path.join(workdir, "work")),
                start_new_session=True,
            )
        sandbox.register(process.pid)
        os.close(write_end)
        write_end = -1
        stdin = process.stdin
        assert stdin is not None  # Popen(stdin=subprocess.PIPE) always makes the pipe
        try:
            stdin.write(json.dumps(request).encode() + b"\n")
            stdin.flush()
        except BrokenPipeError:
            pass
        salts: dict[str, int] = {}
        deadline = time.monotonic() + _STARTUP_S
        buffer, received, why = bytearray(), 0, ""
        next_disk_check = 0.0
        while True:
            if sandbox.stopping():
                raise sandbox.Interrupted()
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                why = "timeout"
                break
            if not boxed and now >= next_disk_check:  # under bubblewrap the tmpfs has the size itself
                next_disk_check = now + 0.2
                if _disk_use(workdir) > (limits.disk_mb + limits.fsize_mb) * 2**20 + (1 << 20):
                    why = "disk"
                    break
            ready, _, _ = select.select([read_end], [], [], min(remaining, 0.2))
            if not ready:
                continue
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            received += len(chunk)
            if received > _MAX_REPORT_BYTES:
                why = "garbage"
                break
            buffer += chunk
            if b"\n" not in chunk:
                continue
            *lines, rest = bytes(buffer).split(b"\n")
            buffer = bytearray(rest)
            for line in lines:
                try:
                    message = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                if not isinstance(message, dict) or message.get("nonce") != nonce:
                    continue  # not from the harness: ignored
                if message.get("event") == "ready":
                    deadline = time.monotonic() + limits.timeout_s
                elif message.get("event") == "start" and message.get("id") in expected:
                    current = message["id"]
                elif current is None:
                    continue  # "defined" and "result" only name the exercise in progress
                elif message.get("event") == "defined" and message.get("id") == current and current not in salts:
                    salts[current] = secrets.randbits(62) if limits.secret_inputs else 0
                    try:
                        stdin.write(json.dumps({"salt": salts[current]}).encode() + b"\n")
                        stdin.flush()
                    except (BrokenPipeError, OSError):
                        pass
                elif message.get("event") == "result" and message.get("id") == current:
                    results[current] = {**message, "salt": salts.get(current)}
                    current = None
        if sandbox.stopping():  # the child was killed by stop_all: not the student's doing
            raise sandbox.Interrupted()
        if why in ("timeout", "disk"):
            return results, current, why
        code = _stop(process)
        if sandbox.stopping():
            raise sandbox.Interrupted()
        stderr_tail = Path(workdir, "stderr").read_bytes()[-2000:].decode(errors="replace").strip()
        reason = f"the process {_describe_exit(code)} while this exercise ran (exit, os._exit, a signal or a crash)"
        if current is None and len(results) < len(expected) and stderr_tail:
            reason += f": {stderr_tail.splitlines()[-1]}"
        return results, current, reason
    finally:
        if process is not None:
            _stop(process)
            if process.stdin is not None:
                try:
                    process.stdin.close()
                except OSError:
                    pass
            sandbox.register(process.pid, alive=False)
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
        shutil.rmtree(workdir, ignore_errors=True)


def _stop(process: subprocess.Popen) -> int:
    """Kill the child's process group and reap the child; its exit code."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return process.wait()


def run_exercises(
    exercises: list[ExerciseCode], preamble: str, *, hidden: list[str] | None = None, limits: Limits = Limits()
) -> dict[str, dict]:
    """Run every exercise, restarting a child after each one that times out or kills it.

    Args:
        exercises: The exercises of one submission, in order.
        preamble: Trusted import statements run before any exercise.
        hidden: Paths of the instructor's hidden-test files.
        limits: Time and memory limits of each child run.

    Returns:
        The child's report for each exercise id (``status``, ``passed``, ``failed``,
        ``hidden_passed``, ``hidden_failed``, ``calls_reference``, ``printed``, ``message``);
        ``status`` is ``"timeout"``, ``"disk"`` or ``"crashed"`` for the exercise a child stopped on.

    Raises:
        Interrupted: When the grader is stopping (:func:`~coursekit.course.grading.sandbox.stop_all`).
    """
    pending = list(exercises)
    results: dict[str, dict] = {}
    tests, _ = load_hidden(list(hidden or []))
    names = {e.exercise_id: e.function_name for e in exercises}
    while pending:
        reported, stopped_on, why = _run_child(pending, preamble, list(hidden or []), limits)
        results.update({k: verdict(r, tests, names.get(k, "student")) for k, r in reported.items()})
        if stopped_on is not None:
            status = why if why in ("timeout", "disk") else "crashed"
            message = {
                "timeout": f"over the time limit of {limits.timeout_s:g} s",
                "disk": f"over the disk limit of {limits.disk_mb} MiB in all (files of the working folder)",
            }.get(why, why)
            results[stopped_on] = {"id": stopped_on, "status": status, "message": message}
        elif not reported:  # the child failed before any exercise: do not loop
            for e in pending:
                results[e.exercise_id] = {"id": e.exercise_id, "status": "crashed", "message": f"grader error: {why}"}
        pending = [e for e in pending if e.exercise_id not in results]
    return results
