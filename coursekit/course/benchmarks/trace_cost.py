r"""Cost of the divergence against dimension: exact autograd, Hutchinson, OT-Flow's exact Laplacian (Chapters 3, 4).

All three evaluate the divergence of the same field, $v = -\nabla\Phi$ for an OT-Flow potential
$\Phi$ (width $m$, 2 layers), at $N$ points in $\mathbb R^d$, together with $v$ itself:

* exact: $\nabla\Phi$ by autograd (graph kept), then one backward pass per dimension, $O(d)$ passes;
* Hutchinson: the same gradient, then one vector-Jacobian product with one Rademacher probe;
* OT-Flow: :meth:`coursekit.flows.ot_flow.Potential.grad_and_laplacian`, exact, $O(m^2 d)$, no loop over $d$.

``python -m coursekit.course.benchmarks trace`` prints milliseconds per call and the ratios.
"""

from __future__ import annotations

import contextlib

import torch

from coursekit.course.benchmarks.report import Table
from coursekit.course.benchmarks.timing import steps_per_second
from coursekit.flows.divergence import hutchinson_divergence, trace_of_jacobian
from coursekit.flows.ot_flow import Potential

__all__ = ["measure", "one_cpu_thread", "run"]


@contextlib.contextmanager
def one_cpu_thread(device: torch.device | str):
    """On the CPU, time with one thread: these tensors are small, and extra threads only contend on a busy machine."""
    threads = torch.get_num_threads()
    if torch.device(device).type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


METHODS = ("exact autograd", "Hutchinson (1 probe)", "OT-Flow Laplacian")


def _calls(potential: Potential, x: torch.Tensor, generator: torch.Generator) -> dict:
    def autograd_velocity(y: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            y = y if y.requires_grad else y.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(potential(y, 0.5).sum(), y, create_graph=True)
        return -g

    def exact() -> torch.Tensor:
        with torch.enable_grad():
            y = x.detach().requires_grad_(True)
            return trace_of_jacobian(autograd_velocity(y), y)

    def hutchinson() -> torch.Tensor:
        return hutchinson_divergence(autograd_velocity, x, generator=generator)

    def laplacian() -> torch.Tensor:
        with torch.no_grad():
            return -potential.grad_and_laplacian(x, 0.5)[1]

    return dict(zip(METHODS, (exact, hutchinson, laplacian), strict=True))


def measure(
    dims: list[int], *, n: int = 256, width: int = 32, device: torch.device | str = "cpu", min_time: float = 0.3
) -> list[dict]:
    """Milliseconds per divergence evaluation of ``n`` points for each dimension in ``dims`` and each method.

    Returns:
        One row per dimension: ``{"d": d, <method>: ms, ...}``.
    """
    rows = []
    generator = torch.Generator(device).manual_seed(0)
    for d in dims:
        torch.manual_seed(d)
        potential = Potential(d, width=width, layers=2).to(device)
        x = torch.randn(n, d, generator=generator, device=device)
        row: dict = {"d": d}
        for name, call in _calls(potential, x, generator).items():
            row[name] = 1e3 / steps_per_second(call, device=device, warmup=2, min_time=min_time, min_steps=3)
        rows.append(row)
    return rows


def run(quick: bool, device: torch.device) -> list[Table]:
    """The divergence cost against dimension (one CPU thread on the CPU); one table."""
    with one_cpu_thread(device):
        return _run(quick, device)


def _run(quick: bool, device: torch.device) -> list[Table]:
    """The trace-cost table (quick: d up to 32, fewer points)."""
    dims = [2, 16] if quick else [2, 4, 8, 16, 32, 64, 100]
    n = 32 if quick else 256
    rows = [
        {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
        for row in measure(dims, n=n, device=device, min_time=0.1 if quick else 0.5)
    ]
    for row in rows:
        row["exact / Laplacian"] = round(row["exact autograd"] / row["OT-Flow Laplacian"], 1)
    notes = [
        f"ms per call (one CPU thread on a CPU) for N = {n} points, "
        f"v = -grad Phi of an OT-Flow potential (m = 32, 2 layers) on {device}",
        "exact autograd grows like d backward passes; Hutchinson is flat but noisy; the Laplacian is exact",
    ]
    return [Table("trace_cost", "Divergence cost against dimension (ms per call)", rows, notes)]
