r"""Thread oversubscription: a small model's training step with 1 and 2 CPU threads, quiet and busy.

Chapter 5's training step (``networks.MLP`` of 3 hidden layers of 64 units, a batch of 256 points
of 8 gaussians, Adam, ``cfm_loss``) is timed with ``torch.set_num_threads(1)`` and ``(2)``:

* quiet: nothing else runs (as far as this process can tell);
* busy: beside one other CPU-bound process that runs torch matrix products on 2 threads, as a
  second notebook, a browser or a compiler would on a student's laptop.

The figure is the median time of a step in milliseconds over several short windows, and the
slowdown busy / quiet. ``ck.setup_notebook`` chooses the thread count from this table: the one
whose busy slowdown stays close to the share of the CPU that the other process leaves
(about 2x on 2 cores), not the one a quiet machine prefers by a few percent.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import torch

from coursekit.course.benchmarks.report import Table
from coursekit.data import toys
from coursekit.flows.flow_matching import cfm_loss
from coursekit.nn import networks

__all__ = ["run"]

_BUSY = "import torch\ntorch.set_num_threads(2)\na = torch.randn(384, 384)\nwhile True:\n    a = torch.tanh(a @ a)\n"


def _step_ms(threads: int, *, windows: int, steps: int) -> float:
    """Median over ``windows`` of the mean time (ms) of ``steps`` CFM training steps on ``threads`` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        gen = torch.Generator().manual_seed(0)
        net = networks.MLP(2, hidden=64, layers=3)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        data = toys.sample("8gaussians", 256, generator=gen)

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            cfm_loss(net, data, generator=gen).backward()
            optimizer.step()

        for _ in range(10):
            step()
        times = []
        for _ in range(windows):
            start = time.perf_counter()
            for _ in range(steps):
                step()
            times.append(1e3 * (time.perf_counter() - start) / steps)
        return statistics.median(times)
    finally:
        torch.set_num_threads(before)


def run(quick: bool = False, device: torch.device | str = "cpu") -> list[Table]:
    """Time the step with 1 and 2 threads, quiet and beside one busy process; return one table."""
    if torch.device(device).type != "cpu":
        return []  # a GPU step does not use the CPU's thread pool for its arithmetic
    windows, steps = (2, 10) if quick else (7, 100)
    quiet = {n: _step_ms(n, windows=windows, steps=steps) for n in (1, 2)}
    busy_process = subprocess.Popen([sys.executable, "-c", _BUSY], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)  # let it start its threads
        busy = {n: _step_ms(n, windows=windows, steps=max(steps // 5, 5)) for n in (1, 2)}
    finally:
        busy_process.kill()
        busy_process.wait()
    rows = [
        {
            "torch threads": n,
            "quiet ms/step": round(quiet[n], 2),
            "busy ms/step": round(busy[n], 2),
            "slowdown busy/quiet": round(busy[n] / quiet[n], 1),
        }
        for n in (1, 2)
    ]
    return [
        Table(
            name="threads",
            title="CFM training step (MLP 3x64, batch 256) on the CPU, quiet and beside one busy process",
            rows=rows,
            notes=[
                "median of short windows; the busy process runs torch matrix products on 2 threads",
                "ck.setup_notebook uses 1 thread on the CPU (COURSEKIT_THREADS overrides)",
            ],
        )
    ]
