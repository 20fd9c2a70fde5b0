"""Benchmarks of the course, run by ``python -m coursekit.course.benchmarks`` (Chapters 3-6, 9).

Each benchmark is a module of this package with a ``run(quick, device) -> list[Table]``
function, registered in :data:`BENCHMARKS` under a short name. The command prints every table
and writes it, with the machine it ran on, as JSON and CSV::

    python -m coursekit.course.benchmarks                 # all, full size
    python -m coursekit.course.benchmarks cfm --quick     # one, small enough for CI
    python -m coursekit.course.benchmarks --list

Ratios between peers (coursekit against torchcfm, the adapter against a bare torchdiffeq call)
are always measured in one run, on the same machine, with the same data and network.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from coursekit.course.benchmarks.report import Table, machine_info, write_tables
from coursekit.course.benchmarks.timing import steps_per_second

__all__ = ["BENCHMARKS", "RESULTS", "Table", "load", "load_results", "machine_info", "steps_per_second", "write_tables"]

#: The folder of the results shipped with the package, ``RESULTS / "cpu" / "results.json"`` (and ``"cuda"``).
RESULTS = Path(__file__).parent / "results"

# name -> (module, one-line description); modules are imported only when run
BENCHMARKS: dict[str, tuple[str, str]] = {
    "cfm": (
        "coursekit.course.benchmarks.cfm_throughput",
        "CFM training steps/s: coursekit vs torchcfm; OT-CFM vs I-CFM step",
    ),
    "families": ("coursekit.course.benchmarks.families", "CNF, OT-Flow, I-/OT-CFM, diffusion: time, NFE, W2, NLL, NPE"),
    "trace": (
        "coursekit.course.benchmarks.trace_cost",
        "divergence cost vs dimension: exact autograd, Hutchinson, OT-Flow Laplacian",
    ),
    "flows": ("coursekit.course.benchmarks.flow_throughput", "CNF and OT-Flow training steps/s on 8 gaussians"),
    "threads": (
        "coursekit.course.benchmarks.threads",
        "a small model's CPU step with 1 and 2 threads, quiet and beside a busy process",
    ),
    "ode": (
        "coursekit.course.benchmarks.ode_adapter",
        "ODE solves/s through coursekit.flows.ode.integrate vs a direct torchdiffeq call",
    ),
}


def load(name: str):
    """Import the module of benchmark ``name``; an unknown name raises ``KeyError`` listing the known ones."""
    if name not in BENCHMARKS:
        raise KeyError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
    return importlib.import_module(BENCHMARKS[name][0])


def load_results(device: str = "cpu") -> dict:
    """The shipped results of the full benchmark on ``device`` (``"cpu"`` or ``"cuda"``), tables as :class:`Table`.

    Written by ``python -m coursekit.course.benchmarks families cfm ode trace flows --out DIR``, with ``DIR`` the
    folder ``coursekit/course/benchmarks/results/<device>``.
    """
    path = RESULTS / device / "results.json"
    if not path.exists():
        shipped = sorted(p.parent.name for p in RESULTS.glob("*/results.json"))
        raise FileNotFoundError(f"no shipped benchmark results for {device!r} ({path}); shipped: {shipped}")
    payload = json.loads(path.read_text())
    payload["tables"] = [Table(**table) for table in payload["tables"]]
    return payload
