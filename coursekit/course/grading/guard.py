r"""The grading child's guard: an audit hook, a sink for printed output, fingerprints of trusted objects.

Used by :mod:`coursekit.course.grading.child` before any student code runs (see its docstring for
the order). The audit hook (PEP 578) refuses writing outside the working folder, starting
processes, sockets, ``ctypes`` and signalling other processes; a fingerprint is the identity of
every value of every trusted namespace (and, for functions, of their code, defaults, globals and
closure), compared after each exercise. Chapter: every (instructors' grading).
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import math
import os
import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = ["Guard", "Sink", "changed", "fingerprint", "namespaces"]

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
_PATH_EVENTS: tuple[str, ...] = (
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.symlink",
    "os.link",
)
_PATH_EVENTS += ("os.truncate", "os.utime", "shutil.rmtree", "shutil.move", "os.chdir")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class Guard:
    """Audit hook: refuse what a grading function never needs to do, and remember it.

    Opening a file for writing in the working folder once its files hold ``disk_bytes`` in all
    raises ``OSError(ENOSPC)``, as a full disk would (so a total, not only a per-file, limit).
    """

    def __init__(self, workdir: str, disk_bytes: int = 1 << 62) -> None:
        self.workdir = os.path.realpath(workdir)
        self.disk_bytes = disk_bytes
        self.violations: list[str] = []
        self.armed = False

    def _disk_full(self) -> bool:
        used = 0
        for parent, _, names in os.walk(self.workdir):
            for name in names:
                try:
                    used += os.lstat(os.path.join(parent, name)).st_blocks * 512
                except OSError:
                    pass
        return used >= self.disk_bytes

    def _inside(self, path: object, realpath: Callable = os.path.realpath, fsdecode: Callable = os.fsdecode) -> bool:
        if isinstance(path, int) or path is None:
            return True
        full = realpath(fsdecode(path))
        return full == self.workdir or full.startswith(self.workdir + os.sep) or full == "/dev/null"

    def refuse(self, what: str) -> None:
        """Remember ``what`` and refuse it with a ``PermissionError``."""
        self.violations.append(what)
        raise PermissionError(f"the grader does not allow {what}")

    def __call__(self, event: str, args: tuple) -> None:
        """The audit hook itself."""
        if not self.armed:
            return
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            if writing and not self._inside(path):
                self.refuse(f"writing to {os.fsdecode(path)} (outside the working folder)")
            if writing and not isinstance(path, int) and self._disk_full():
                raise OSError(errno.ENOSPC, "over the grader's disk limit (all files together)")
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


class Sink(io.TextIOBase):
    """Stands for stdout and stderr: counts what is printed, keeps nothing."""

    def __init__(self) -> None:
        self.count = 0

    def writable(self) -> bool:
        """Always (it is an output stream)."""
        return True

    def write(self, text: str) -> int:
        """Count ``text`` and drop it."""
        self.count += len(text)
        return len(text)


def namespaces(extra: list[tuple[str, dict]], own: types.ModuleType) -> list[tuple[str, Any]]:
    """Every namespace holding a trusted object, captured once before student code runs.

    Args:
        extra: More ``(label, namespace)`` pairs (the hidden tests).
        own: The child's own module (``__main__`` when run with ``python -m``).
    """
    import torch

    import coursekit.course.exercises as exercises

    try:  # imported lazily by torch.func and friends, torch._dynamo rebinds torch.manual_seed: import it first
        import torch._dynamo  # noqa: F401
    except Exception:  # pragma: no cover - a torch without dynamo
        pass

    modules = [m for n, m in list(sys.modules.items()) if n.split(".")[0] == "coursekit" and m is not None]
    modules += [torch, torch.nn, torch.nn.functional, torch.linalg, torch.random, torch.distributions]
    modules += [math, builtins, os, os.path, io, json, json.encoder, own]
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


def fingerprint(spaces: list[tuple[str, Any]]) -> dict[str, tuple]:
    """The identity of every value of every namespace (and of each function's code, defaults, closure)."""
    prints: dict[str, tuple] = {}
    for label, space in spaces:
        for key, value in list(space.items()):
            extra = _function_print(value) if isinstance(value, types.FunctionType) else ()
            prints[f"{label}.{key}"] = (id(value), *extra)
    return prints


def changed(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """The keys whose fingerprint differs."""
    return [key for key, value in before.items() if after.get(key) != value]
