r"""The torchdiffeq adapter against a direct torchdiffeq call (Chapters 3-6, 9).

:func:`coursekit.flows.ode.integrate` swaps the argument order, clamps the time into the span and counts
function evaluations. This benchmark solves $\dot x = v_\theta(x, t)$ for an MLP velocity from
$t = 1$ to $t = 0$ both ways, with the same method, options and points, and reports the ratio of
solves per second (1.0: the adapter costs nothing measurable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torchdiffeq import odeint

from coursekit.course.benchmarks.report import Table
from coursekit.course.benchmarks.timing import interleaved_rates
from coursekit.flows.ode import integrate
from coursekit.nn import networks

__all__ = ["run"]


def _calls(
    net: torch.nn.Module, x: torch.Tensor, t_grid: torch.Tensor, method: str, options: dict, direct_options: dict | None
) -> tuple[Callable[[], Any], Callable[[], Any]]:
    # the adapter call and the direct torchdiffeq call of one setting, closed over this call's arguments
    if method == "rk4":

        def adapter() -> Any:
            return integrate(net, x, t_grid, method="rk4", step_size=0.05)

        def direct() -> Any:
            return odeint(lambda t, y: net(y, t), x, t_grid, method="rk4", options={"step_size": 0.05})

        return adapter, direct

    def adaptive() -> Any:
        return integrate(net, x, t_grid, method="dopri5", **options)

    def adaptive_direct() -> Any:
        return odeint(lambda t, y: net(y, t), x, t_grid, method="dopri5", options=direct_options, **options)

    return adaptive, adaptive_direct


def run(quick: bool = False, device: torch.device | str = "cpu") -> list[Table]:
    """Solves per second through the adapter and directly, for an adaptive and a fixed-step method."""
    device = torch.device(device)
    torch.manual_seed(0)
    net = networks.MLP(2).to(device).eval()
    n = 512 if quick else 4096
    x = torch.randn(n, 2, generator=torch.Generator().manual_seed(1)).to(device)
    t_grid = torch.tensor([1.0, 0.0], device=device)
    table = Table("ode_adapter", f"ODE solves per second, MLP 3x128 velocity, {n} points, t from 1 to 0")
    settings = (("dopri5", {"rtol": 1e-4, "atol": 1e-4}, {"step_t": t_grid}), ("rk4", {"step_size": 0.05}, None))
    for method, options, direct_options in settings:
        adapter, direct = _calls(net, x, t_grid, method, options, direct_options)
        with torch.no_grad():
            agree = float((adapter().trajectory[-1] - direct()[-1]).abs().max())
            rates = interleaved_rates(
                {"adapter": adapter, "direct": direct},
                device=device,
                rounds=2 if quick else 4,
                min_time=0.3 if quick else 1.0,
                warmup=2,
            )
            nfe = adapter().nfe
        table.rows.append(
            {
                "method": method,
                "NFE": nfe,
                "adapter solves/s": round(rates["adapter"], 2),
                "direct solves/s": round(rates["direct"], 2),
                "adapter / direct": round(rates["adapter"] / rates["direct"], 3),
                "max |difference|": float(f"{agree:.1e}"),
            }
        )
    table.notes.append("ratio 1.0: the adapter adds nothing measurable; the solutions agree to the last column")
    return [table]
