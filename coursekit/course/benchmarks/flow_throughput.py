"""Training throughput of the Chapter 3 CNF and the Chapter 4 OT-Flow on 8 gaussians (Chapters 3, 4).

One training step = one forward solve with 8 RK4 steps through :func:`coursekit.flows.ode.integrate`,
the loss, the backward pass through the solver and an Adam step; the settings are those of
:mod:`coursekit.course.pretrain` (CNF 3 x 64 with the exact divergence; OT-Flow with m = 32, 2 layers).
"""

from __future__ import annotations

import torch

from coursekit.course.benchmarks.report import Table
from coursekit.course.benchmarks.timing import steps_per_second
from coursekit.course.benchmarks.trace_cost import one_cpu_thread
from coursekit.data import toys
from coursekit.flows import cnf, ot_flow

__all__ = ["run"]


def _step(kind: str, batch: int, device: torch.device, divergence: str = "exact"):
    torch.manual_seed(0)
    gen = torch.Generator(device).manual_seed(1)
    model: torch.nn.Module
    if kind == "cnf":
        model = cnf.velocity_network(2, hidden=64, layers=3).to(device)

        def loss() -> torch.Tensor:
            x = toys.sample("8gaussians", batch, generator=gen, device=device)
            return cnf.nll_loss(model, x, n_steps=8, divergence=divergence, generator=gen)
    else:
        potential = ot_flow.Potential(2, width=32, layers=2).to(device)
        model = potential

        def loss() -> torch.Tensor:
            return ot_flow.ot_flow_loss(potential, toys.sample("8gaussians", batch, generator=gen, device=device))

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        value = loss()
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()

    return step


def run(quick: bool, device: torch.device) -> list[Table]:
    """CNF and OT-Flow training steps per second (one CPU thread on the CPU); one table."""
    with one_cpu_thread(device):
        return _run(quick, device)


def _run(quick: bool, device: torch.device) -> list[Table]:
    """Steps/s and samples/s of CNF (exact and Hutchinson divergence) and OT-Flow training."""
    batches = [32] if quick else [256, 1024]
    rows = []
    for batch in batches:
        for label, kind, divergence in (
            ("CNF, exact div", "cnf", "exact"),
            ("CNF, Hutchinson", "cnf", "hutchinson"),
            ("OT-Flow", "ot_flow", "exact"),
        ):
            rate = steps_per_second(
                _step(kind, batch, device, divergence),
                device=device,
                warmup=1,
                min_time=0.1 if quick else 2.0,
                min_steps=1 if quick else 5,
            )
            rows.append({"model": label, "batch": batch, "steps/s": round(rate, 2), "samples/s": round(rate * batch)})
    notes = [
        "one CPU thread on a CPU; one step: 8 RK4 steps forward (32 evaluations), backward through the solver, Adam",
        "CNF 3 x 64 SiLU MLP; OT-Flow potential m = 32, 2 layers, analytic gradient and Laplacian",
    ]
    return [Table("flow_throughput", "CNF and OT-Flow training throughput on 8 gaussians", rows, notes)]
