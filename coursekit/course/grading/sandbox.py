r"""Where a grading child runs: under bubblewrap when it works, else under the child's own guard.

Isolation ``"bubblewrap"`` wraps the child in ``bwrap`` (Debian package ``bubblewrap``): its own
PID namespace (every descendant dies with it), no network, the whole file system read-only but
for a private, size-limited tmpfs on ``/tmp`` whose ``/tmp/work`` is the working folder,
``--die-with-parent`` and a new session. The audit-hook guard of
:mod:`coursekit.course.grading.child` runs inside as well. Isolation ``"guard"`` is the guard
alone (where ``bwrap`` is missing or user namespaces are refused).

The module also keeps the registry of the live children, so that an interrupted grader
(Ctrl-C, SIGTERM) kills every process group at once (:func:`stop_all`). Chapter: every
(instructors' grading).
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Sequence

__all__ = ["ISOLATIONS", "Interrupted", "INSIDE_WORKDIR", "isolation", "register", "stop_all", "stopping", "wrap"]

ISOLATIONS = ("auto", "bubblewrap", "guard")
INSIDE_WORKDIR = "/tmp/work"
_LOCK = threading.Lock()
_LIVE: set[int] = set()
_STOP = threading.Event()


class Interrupted(BaseException):
    """The grader was asked to stop (SIGINT or SIGTERM); a ``BaseException`` so no handler eats it."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@functools.lru_cache(maxsize=1)
def _bubblewrap_works() -> bool:
    executable = shutil.which("bwrap")
    if executable is None:
        return False
    try:
        probe = subprocess.run(wrap(["true"], 1 << 20), capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def isolation(requested: str = "auto") -> str:
    """The isolation that will run: ``"bubblewrap"`` or ``"guard"``.

    Args:
        requested: ``"auto"`` (bubblewrap when it works here), ``"bubblewrap"`` or ``"guard"``.

    Raises:
        ValueError: For an unknown name, or ``"bubblewrap"`` where it cannot run.
    """
    if requested not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}, not {requested!r}")
    if requested == "guard":
        return "guard"
    if _bubblewrap_works():
        return "bubblewrap"
    if requested == "bubblewrap":
        raise ValueError("bubblewrap (bwrap) is not installed or cannot create namespaces here")
    return "guard"


def wrap(command: list[str], disk_bytes: int, keep: Sequence[str] = ()) -> list[str]:
    """``command`` run under ``bwrap`` with a private tmpfs of ``disk_bytes`` bytes on ``/tmp``.

    Args:
        command: The command and its arguments.
        disk_bytes: Size of the tmpfs.
        keep: Paths the child must read that the tmpfs would hide (under ``/tmp``: the
            instructor's hidden tests, a virtual environment), bound read-only over it.
    """
    hidden = [p for p in dict.fromkeys(os.path.realpath(p) for p in keep) if p == "/tmp" or p.startswith("/tmp/")]
    binds = [arg for p in hidden if os.path.exists(p) for arg in ("--ro-bind", p, p)]
    return [
        "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
        "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
        "--size", str(int(disk_bytes)), "--tmpfs", "/tmp", "--dir", INSIDE_WORKDIR, "--chdir", INSIDE_WORKDIR,
        *binds, "--setenv", "HOME", INSIDE_WORKDIR, "--setenv", "TMPDIR", INSIDE_WORKDIR,
        "--", *command,
    ]  # fmt: skip


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def register(pid: int, alive: bool = True) -> None:
    """Record a child's process group (``alive=False``: forget it); killed at once when stopping."""
    with _LOCK:
        if not alive:
            _LIVE.discard(pid)
            return
        _LIVE.add(pid)
        if _STOP.is_set():
            _kill(pid)


def stop_all() -> None:
    """Kill every registered child's process group and make every runner stop."""
    with _LOCK:
        _STOP.set()
        for pid in list(_LIVE):
            _kill(pid)


def stopping(reset: bool = False) -> bool:
    """Whether :func:`stop_all` was called (``reset=True``: clear it, at the start of a batch)."""
    if reset:
        _STOP.clear()
    return _STOP.is_set()
