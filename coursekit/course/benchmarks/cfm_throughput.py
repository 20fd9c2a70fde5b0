r"""CFM training throughput: coursekit against torchcfm, and an OT-CFM step against an I-CFM step (Chapter 5).

The same network (``networks.MLP``, 3 hidden layers of 128 SiLU units, the course's default), the
same optimiser (Adam, lr 1e-3) and the same batch of 8-gaussians data are trained by

* coursekit: ``flow_matching.cfm_loss(net, x_data, coupling=...)``;
* torchcfm (Tong et al. 2023, a development-only peer): ``ConditionalFlowMatcher(sigma=0)`` or
  ``ExactOptimalTransportConditionalFlowMatcher(sigma=0)``, whose ``sample_location_and_conditional_flow``
  gives $(t, x_t, u_t)$ for the loss $\|v_\theta(x_t, t) - u_t\|^2$.

torchcfm puts the noise at $t = 0$; the cost of a step does not depend on the direction. The steps
of the two libraries alternate in rounds and each keeps its best round, so the ratio is measured
in one run under the same load.
"""

from __future__ import annotations

import torch

from coursekit.course.benchmarks.report import Table
from coursekit.course.benchmarks.timing import interleaved_rates
from coursekit.data import toys
from coursekit.flows.flow_matching import cfm_loss
from coursekit.nn import networks

__all__ = ["run"]


def _step_fn(loss_of_batch, net: torch.nn.Module, data: torch.Tensor):
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_of_batch(net, data).backward()
        optimizer.step()

    return step


def _coursekit_loss(coupling: str):
    return lambda net, x: cfm_loss(net, x, coupling=coupling)


def _torchcfm_loss(matcher):
    def loss(net, x):
        x_noise = torch.randn_like(x)
        t, x_t, u_t = matcher.sample_location_and_conditional_flow(x_noise, x)
        return ((net(x_t, t) - u_t) ** 2).sum(dim=1).mean()

    return loss


def run(quick: bool = False, device: torch.device | str = "cpu") -> list[Table]:
    """Measure steps/s of I-CFM and OT-CFM with coursekit and torchcfm; return one table."""
    device = torch.device(device)
    batches = (256,) if quick else (256, 1024)  # exact OT at 4096 points costs seconds per step
    min_time, rounds = (0.3, 2) if quick else (1.0, 3)
    try:
        from torchcfm.conditional_flow_matching import (
            ConditionalFlowMatcher,
            ExactOptimalTransportConditionalFlowMatcher,
        )
    except ImportError:
        ConditionalFlowMatcher = None  # noqa: N806
    table = Table("cfm_throughput", "CFM training steps per second (same MLP 3x128, Adam, 8 gaussians)")
    for batch in batches:
        data = toys.sample("8gaussians", batch, generator=torch.Generator().manual_seed(0)).to(device)
        steps = {}
        for coupling in ("independent", "ot"):
            torch.manual_seed(0)
            net = networks.MLP(2).to(device)
            steps[f"coursekit {coupling}"] = _step_fn(_coursekit_loss(coupling), net, data)
        if ConditionalFlowMatcher is not None:
            for coupling, matcher in (
                ("independent", ConditionalFlowMatcher(sigma=0.0)),
                ("ot", ExactOptimalTransportConditionalFlowMatcher(sigma=0.0)),
            ):
                torch.manual_seed(0)
                net = networks.MLP(2).to(device)
                steps[f"torchcfm {coupling}"] = _step_fn(_torchcfm_loss(matcher), net, data)
        rates = interleaved_rates(steps, device=device, rounds=rounds, min_time=min_time)
        for coupling in ("independent", "ot"):
            ours = rates[f"coursekit {coupling}"]
            peer = rates.get(f"torchcfm {coupling}")
            table.rows.append(
                {
                    "batch": batch,
                    "coupling": "I-CFM" if coupling == "independent" else "OT-CFM",
                    "coursekit steps/s": round(ours, 1),
                    "torchcfm steps/s": round(peer, 1) if peer else None,
                    "coursekit / torchcfm": round(ours / peer, 2) if peer else None,
                    "OT step cost / I step": (
                        round(rates["coursekit independent"] / ours, 2) if coupling == "ot" else 1.0
                    ),
                }
            )
    if ConditionalFlowMatcher is None:
        table.notes.append("torchcfm is not installed (pip install --no-deps torchcfm): no peer column")
    table.notes.append("ratio > 1: coursekit is faster; OT step cost = (I-CFM steps/s) / (OT-CFM steps/s), coursekit")
    return [table]
