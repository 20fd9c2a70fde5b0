r"""The lectures' summary table, measured: CNF, OT-Flow, I-CFM, OT-CFM and diffusion on the same data (Chapter 9).

Every family trains a network of comparable size (3 hidden layers of 64 units; OT-Flow's potential
is a width-64 ResNet with the quadratic term, about half the parameters) with Adam for the same
number of steps on batches of the same size, drawn in turn from one seeded generator, then is
measured the same way:

* training time and steps per second;
* NFE of an adaptive solve (dopri5, ``rtol = atol = 1e-4``) of the sampling ODE with a single
  output time, so that every step is the solver's choice (saving the path at 20 times would force
  20 steps); the reverse SDE has no adaptive solve: its NFE is its number of steps;
* sample quality $W_2$ (exact, the mean over 4 chunks, :func:`coursekit.metrics.wasserstein.mean_wasserstein2`)
  after the adaptive solve and after a fixed small number of Euler (or Euler-Maruyama) steps, with
  the data floor (the same between two fresh data samples of the same size);
* the held-out negative log-likelihood where the family gives one (for flow matching through
  the instantaneous change of variables of its ODE; for diffusion through the probability-flow
  ODE, the likelihood of $p_{t_{\min}}$);
* the normalized path energy of the adaptive solve (1 = straight, constant-speed paths).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from coursekit.course.benchmarks.report import Table
from coursekit.data import toys
from coursekit.diffusion import dsm, likelihood, samplers
from coursekit.flows import cnf, flow_matching as fm, ot_flow, path_metrics
from coursekit.flows.likelihood import LikelihoodResult
from coursekit.metrics import wasserstein
from coursekit.nn import networks
from coursekit.nn.training import train
from coursekit.sde.processes import VPSDE

__all__ = ["Budget", "METHODS", "evaluate_family", "run"]

METHODS = ("CNF", "OT-Flow", "I-CFM", "OT-CFM", "diffusion (reverse SDE)", "diffusion (PF-ODE)")
TOL = 1e-4
T_MIN = 1e-3


@dataclass(frozen=True)
class Budget:
    """Sizes of one run: training steps, batch, evaluation points, the fixed Euler step count."""

    steps: int
    batch: int
    n_eval: int
    n_nll: int
    euler_steps: int = 8
    hidden: int = 64

    @classmethod
    def for_mode(cls, quick: bool) -> Budget:
        """The budget of the quick (CI) or the full run."""
        return (
            cls(steps=30, batch=128, n_eval=300, n_nll=100)
            if quick
            else cls(steps=500, batch=256, n_eval=1000, n_nll=500)
        )


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _on(device: torch.device, fn: Callable) -> Callable:
    """Wrap a field living on ``device`` so that it takes and returns CPU tensors."""
    return lambda x, t: fn(x.to(device), torch.as_tensor(t).to(device)).cpu()


def _train(
    loss_fn: Callable[[int], torch.Tensor], module: torch.nn.Module, budget: Budget, lr: float, device: torch.device
) -> float:
    start = time.perf_counter()
    train(loss_fn, module, steps=budget.steps, lr=lr, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _families(name: str, budget: Budget, device: torch.device) -> dict[str, dict]:
    """Train each family on dataset ``name``; return per family its model pieces and training time."""
    gen = torch.Generator(device).manual_seed(0)

    def batch() -> torch.Tensor:
        return toys.sample(name, budget.batch, generator=gen, device=device)

    trained: dict[str, dict] = {}
    torch.manual_seed(1)
    net = cnf.velocity_network(2, hidden=budget.hidden, layers=3).to(device)
    seconds = _train(lambda step: cnf.nll_loss(net, batch(), method="rk4", n_steps=8), net, budget, 3e-3, device)
    trained["CNF"] = {"velocity": _on(device, net.eval()), "seconds": seconds, "params": _params(net)}

    torch.manual_seed(1)
    potential = ot_flow.Potential(2, width=budget.hidden, layers=2).to(device)
    seconds = _train(lambda step: ot_flow.ot_flow_loss(potential, batch()), potential, budget, 3e-3, device)
    trained["OT-Flow"] = {
        "velocity": _on(device, potential.eval().velocity),
        "seconds": seconds,
        "params": _params(potential),
        "potential": potential,
    }

    for label, coupling in (("I-CFM", "independent"), ("OT-CFM", "ot")):
        torch.manual_seed(1)
        net = networks.MLP(2, hidden=budget.hidden, layers=3).to(device)
        seconds = _train(
            functools.partial(_cfm_step, net, batch, coupling, gen),
            net,
            budget,
            3e-3,
            device,
        )
        trained[label] = {"velocity": _on(device, net.eval()), "seconds": seconds, "params": _params(net)}

    torch.manual_seed(1)
    sde = VPSDE()
    net = networks.MLP(2, hidden=budget.hidden, layers=3).to(device)
    seconds = _train(lambda step: dsm.dsm_loss(net, batch(), sde, generator=gen), net, budget, 3e-3, device)
    score = dsm.score_from_model(_on(device, net.eval()), sde, "noise")
    for label in ("diffusion (reverse SDE)", "diffusion (PF-ODE)"):
        trained[label] = {"score": score, "sde": sde, "seconds": seconds, "params": _params(net)}
    return trained


def _cfm_step(net: torch.nn.Module, batch: Callable[[], torch.Tensor], coupling: str, gen: torch.Generator, step: int):
    """The CFM loss of one training step (``step`` unused: the batches come from ``batch()``)."""
    return fm.cfm_loss(net, batch(), coupling=coupling, generator=gen)


def evaluate_family(
    label: str, model: dict, data: torch.Tensor, held_out: torch.Tensor, z: torch.Tensor, budget: Budget
) -> dict:
    """Sample and score one trained family (all on the CPU); return one row of the table (without the floor)."""
    gen = torch.Generator().manual_seed(3)
    k = budget.euler_steps
    nll, npe, w2_adaptive, nfe = None, None, None, None
    if "velocity" in model:  # an ODE model: CNF, OT-Flow, flow matching
        velocity = model["velocity"]
        with torch.no_grad():
            few = fm.sample(velocity, z, n_steps=k).samples
            adaptive = fm.sample(velocity, z, rtol=TOL, atol=TOL)  # one output time: the solver's own steps
            path = fm.sample(velocity, z, rtol=TOL, atol=TOL, n_save=20)  # 20 saved times, for the path energy
        nfe, w2_adaptive = adaptive.nfe, wasserstein.mean_wasserstein2(adaptive.samples, data)
        assert path.trajectory is not None and path.t_grid is not None  # n_save asks for the path
        npe = path_metrics.normalized_path_energy(path.trajectory, path.t_grid)
        result: LikelihoodResult
        if label == "OT-Flow":
            with torch.no_grad():
                result = ot_flow.integrate_flow(model["potential"].cpu(), held_out, n_steps=24)
            nll = float(-result.log_prob.mean())
        else:
            result = cnf.log_likelihood(velocity, held_out, method="dopri5", rtol=TOL, atol=TOL)
            nll = float(-result.log_prob.mean())
    else:
        sde, score = model["sde"], model["score"]
        x1 = z  # the VP prior N(0, sigma_1^2 I) has sigma_1 = 1 to 5 digits
        with torch.no_grad():
            if label == "diffusion (reverse SDE)":
                few = samplers.reverse_sde_sample(sde, score, x1, n_steps=k, t_min=T_MIN, generator=gen).samples
                many = samplers.reverse_sde_sample(sde, score, x1, n_steps=250, t_min=T_MIN, generator=gen)
                nfe, w2_adaptive = many.nfe, wasserstein.mean_wasserstein2(many.samples, data)
            else:
                few = samplers.family_sample(sde, score, x1, lam=0.0, n_steps=k, t_min=T_MIN).samples
                adaptive = samplers.probability_flow_sample(sde, score, x1, rtol=TOL, atol=TOL, t_min=T_MIN)
                path = samplers.probability_flow_sample(sde, score, x1, rtol=TOL, atol=TOL, n_steps=20, t_min=T_MIN)
                nfe, w2_adaptive = adaptive.nfe, wasserstein.mean_wasserstein2(adaptive.samples, data)
                assert path.trajectory is not None  # n_steps=20 saves the path
                grid = torch.linspace(1.0, T_MIN, path.trajectory.shape[0])
                npe = path_metrics.normalized_path_energy(path.trajectory, grid)
        if label == "diffusion (PF-ODE)":
            result = likelihood.log_likelihood(sde, score, held_out, t_min=T_MIN, rtol=TOL, atol=TOL)
            nll = float(-result.log_prob.mean())
    return {
        "method": label,
        "params": model["params"],
        "train s": round(model["seconds"], 2),
        "steps/s": round(budget.steps / model["seconds"], 1),
        "NFE (adaptive)": nfe,
        "W2 (adaptive)": round(w2_adaptive, 3),
        f"W2 ({k} Euler)": round(wasserstein.mean_wasserstein2(few, data), 3),
        "NLL": None if nll is None else round(nll, 3),
        "NPE": None if npe is None else round(npe, 3),
    }


def run(
    quick: bool = False,
    device: torch.device | str = "cpu",
    names: tuple[str, ...] = ("8gaussians", "checkerboard"),
) -> list[Table]:
    """Train and measure every family on each dataset; one table per dataset."""
    device = torch.device(device)
    budget = Budget.for_mode(quick)
    tables = []
    for name in names:
        gen = torch.Generator().manual_seed(2)
        data, data2, held_out = (
            toys.sample(name, n, generator=gen) for n in (budget.n_eval, budget.n_eval, budget.n_nll)
        )
        z = torch.randn(budget.n_eval, 2, generator=gen)
        floor = wasserstein.mean_wasserstein2(data, data2)
        trained = _families(name, budget, device)
        table = Table(
            f"families_{name}",
            f"{name}: {budget.steps} steps of batch {budget.batch} each, "
            f"{budget.n_eval} samples, adaptive = dopri5 at tol {TOL:g}",
        )
        for label in METHODS:
            row = evaluate_family(label, trained[label], data, held_out, z, budget)
            row["W2 floor"] = round(floor, 3)
            table.rows.append(row)
        if toys.has_log_prob(name):
            big = toys.sample(name, 100_000, generator=gen)
            entropy = float(-toys.log_prob(name, big).mean())
            table.notes.append(f"entropy of the data (the best possible NLL) = {entropy:.3f} nats")
        table.notes.append("reverse SDE: 'adaptive' columns are 250 Euler-Maruyama steps; NLL/NPE only for ODEs")
        tables.append(table)
    return tables
