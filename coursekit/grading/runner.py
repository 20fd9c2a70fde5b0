r"""Run a submission's exercises in child processes with a time and a memory limit.

One child (:mod:`coursekit.grading.child`) runs the exercises of a submission in order and
reports each result as it finishes. When the child runs out of time, dies (``exit``,
``os._exit``, a signal, the memory limit) or stops after tampering, the exercise it was on gets
that status and the remaining exercises run in a fresh child: only the affected exercises lose
points. The time limit starts when the child is ready (after importing ``torch``), so a loaded
machine does not eat a student's time. Chapter: every (instructors' grading).
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

from coursekit.grading.submission import ExerciseCode

__all__ = ["Limits", "run_exercises"]

_STARTUP_S = 180.0  # importing torch on a loaded machine; not the student's time
_MAX_REPORT_BYTES = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Limits of one child process.

    Attributes:
        timeout_s: Seconds for the exercises of one child run (after its start-up).
        memory_mb: Address-space limit in MiB (``RLIMIT_AS``; ``torch`` alone maps about 1 GiB).
        fsize_mb: Largest file the child may write, in MiB.
    """

    timeout_s: float = 60.0
    memory_mb: int = 3072
    fsize_mb: int = 64


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


def _run_child(
    exercises: list[ExerciseCode], preamble: str, hidden: list[str], limits: Limits
) -> tuple[dict[str, dict], str | None, str]:
    """One child run: the results it reported, the exercise it was on when it stopped, and why."""
    nonce = secrets.token_hex(16)
    workdir = tempfile.mkdtemp(prefix="coursekit-grade-")
    read_end, write_end = os.pipe()
    request = {
        "nonce": nonce,
        "workdir": workdir,
        "memory_mb": limits.memory_mb,
        "fsize_mb": limits.fsize_mb,
        "preamble": preamble,
        "hidden": hidden,
        "exercises": [{"id": e.exercise_id, "function_name": e.function_name, "source": e.source} for e in exercises],
    }
    results: dict[str, dict] = {}
    current: str | None = None
    expected = [e.exercise_id for e in exercises]
    try:
        with open(os.path.join(workdir, ".stderr"), "wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-s", "-B", "-m", "coursekit.grading.child", str(write_end)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                pass_fds=(write_end,),
                cwd=workdir,
                env=_environment(workdir),
                start_new_session=True,
            )
        os.close(write_end)
        write_end = -1
        try:
            process.stdin.write(json.dumps(request).encode())
            process.stdin.close()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + _STARTUP_S
        buffer, received, why = b"", 0, ""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                why = "timeout"
                break
            ready, _, _ = select.select([read_end], [], [], remaining)
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
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(message, dict) or message.get("nonce") != nonce:
                    continue  # not from the harness: ignored
                if message.get("event") == "ready":
                    deadline = time.monotonic() + limits.timeout_s
                elif message.get("event") == "start" and message.get("id") in expected:
                    current = message["id"]
                elif message.get("event") == "result" and message.get("id") == current:
                    results[current] = message
                    current = None
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        code = process.wait()
        if why == "timeout":
            return results, current, "timeout"
        stderr_tail = Path(workdir, ".stderr").read_bytes()[-2000:].decode(errors="replace").strip()
        reason = f"the process {_describe_exit(code)} while this exercise ran (exit, os._exit, a signal or a crash)"
        if current is None and len(results) < len(expected) and stderr_tail:
            reason += f": {stderr_tail.splitlines()[-1]}"
        return results, current, reason
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
        shutil.rmtree(workdir, ignore_errors=True)


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
        ``status`` is ``"timeout"`` or ``"crashed"`` for the exercise a child stopped on.
    """
    pending = list(exercises)
    results: dict[str, dict] = {}
    while pending:
        reported, stopped_on, why = _run_child(pending, preamble, list(hidden or []), limits)
        results.update(reported)
        if stopped_on is not None:
            status = "timeout" if why == "timeout" else "crashed"
            message = f"over the time limit of {limits.timeout_s:g} s" if why == "timeout" else why
            results[stopped_on] = {"id": stopped_on, "status": status, "message": message}
        elif not reported:  # the child failed before any exercise: do not loop
            for e in pending:
                results[e.exercise_id] = {"id": e.exercise_id, "status": "crashed", "message": f"grader error: {why}"}
        pending = [e for e in pending if e.exercise_id not in results]
    return results
