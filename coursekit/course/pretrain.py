r"""Train the small CNF and OT-Flow models that Chapters 3 and 4 load: ``python -m coursekit.course.pretrain``.

The chapters must run in about a minute on a CPU, too little to train a good flow by maximum
likelihood. This script trains both models on "8gaussians" with fixed seeds and writes them to
``coursekit/checkpoints/`` (state dict, configuration and training log; a few tens of KB each):

* ``cnf_8gaussians.pt``: FFJORD-style CNF, :func:`coursekit.flows.cnf.velocity_network` (3 x 64, SiLU),
  exact divergence, 8 RK4 steps, Adam, batch 256 (Chapter 3);
* ``ot_flow_8gaussians.pt``: OT-Flow's toy settings, :class:`coursekit.flows.ot_flow.Potential` with
  $m = 32$, 2 layers, OT-Flow's weights (1, 100, 5) on (L, NLL, R), 8 RK4 steps, Adam with a decaying rate (Chapter 4).

``--quick`` runs a few steps only (a test checks that the files it writes load and beat the
untrained model); :func:`load_pretrained` reads a checkpoint back.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from coursekit._choices import check_choice
from coursekit.data import toys
from coursekit.flows import cnf, ot_flow
from coursekit.nn import training
from coursekit.rng import forked_seed

__all__ = ["CHECKPOINTS", "build", "evaluate_nll", "load_pretrained", "main", "train_cnf", "train_ot_flow"]

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
FULL: dict[str, dict[str, Any]] = {
    "cnf": {"steps": 1200, "batch": 256, "lr": 2e-3, "n_steps": 8},
    "ot_flow": {"steps": 1000, "batch": 512, "lr": 0.03, "n_steps": 8, "alpha": (0.01, 0.05)},
}
QUICK: dict[str, dict[str, Any]] = {
    "cnf": {"steps": 15, "batch": 64, "lr": 1e-2, "n_steps": 4},
    "ot_flow": {"steps": 15, "batch": 128, "lr": 0.03, "n_steps": 4, "alpha": (0.01, 0.05)},
}
ARCHITECTURE = {"cnf": {"dim": 2, "hidden": 64, "layers": 3}, "ot_flow": {"dim": 2, "width": 32, "layers": 2}}


def build(kind: str, **architecture) -> nn.Module:
    """A fresh model of kind ``"cnf"`` (velocity MLP) or ``"ot_flow"`` (potential)."""
    if check_choice(kind, ("cnf", "ot_flow"), "model kind") == "cnf":
        return cnf.velocity_network(**architecture)
    return ot_flow.Potential(**architecture)


def evaluate_nll(kind: str, model: nn.Module, x: torch.Tensor, *, n_steps: int = 8) -> float:
    """Mean negative log-likelihood (nats) of points ``x`` ``(N, 2)`` under the model, with ``n_steps`` RK4 steps."""
    if kind == "cnf":
        return float(-cnf.log_likelihood(model, x, n_steps=n_steps).log_prob.mean())
    with torch.no_grad():
        return float(-ot_flow.integrate_flow(cast(ot_flow.Potential, model), x, n_steps=n_steps).log_prob.mean())


def _cosine(steps: int) -> Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]:
    """The learning-rate schedule of both models: cosine from the initial rate down to 2 % of it."""

    def build_scheduler(optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=steps, eta_min=0.02 * optimizer.defaults["lr"]
        )

    return build_scheduler


def _fresh(kind: str, seed: int, device: str) -> nn.Module:
    """A new model initialised from ``seed`` (nn.Linear draws from the global generator: fork it)."""
    with forked_seed(seed):
        return build(kind, **ARCHITECTURE[kind]).to(device)


def _logged(log_every: int, steps: int) -> Callable[[int], bool]:
    return lambda step: step % log_every == 0 or step == steps - 1


def train_cnf(
    config: dict, *, seed: int = 0, device: str = "cpu", log_every: int = 50, progress: bool = False
) -> tuple[nn.Module, list]:
    """Train the CNF by maximum likelihood (exact divergence, RK4); returns the model and ``[(step, nll)]``.

    The initialisation comes from ``seed`` and the data from a generator seeded with ``seed + 1``;
    the caller's global random state is left untouched.
    """
    model = _fresh("cnf", seed, device)
    gen = torch.Generator(device).manual_seed(seed + 1)

    def loss_fn(step: int) -> torch.Tensor:
        x = toys.sample("8gaussians", config["batch"], generator=gen, device=device)
        return cnf.nll_loss(model, x, n_steps=config["n_steps"])

    history = training.train(
        loss_fn,
        model,
        steps=config["steps"],
        lr=config["lr"],
        progress=progress,
        description="cnf",
        scheduler=_cosine(config["steps"]),
    )
    logged = _logged(log_every, config["steps"])
    log = [(step, round(nll, 4)) for step, nll in enumerate(history) if logged(step)]
    for step, nll in log:
        print(f"cnf step {step:5d}  nll {nll:.4f}", flush=True)
    return model.eval(), log


def train_ot_flow(
    config: dict, *, seed: int = 0, device: str = "cpu", log_every: int = 50, progress: bool = False
) -> tuple[nn.Module, list]:
    """Train OT-Flow on NLL + alpha_1 L + alpha_2 R (RK4); returns the model and ``[(step, nll, L, R)]``.

    The initialisation comes from ``seed`` and the data from a generator seeded with ``seed + 1``;
    the caller's global random state is left untouched.
    """
    model = cast(ot_flow.Potential, _fresh("ot_flow", seed, device))
    gen = torch.Generator(device).manual_seed(seed + 1)
    logged, terms_at = _logged(log_every, config["steps"]), {}

    def loss_fn(step: int) -> torch.Tensor:
        x = toys.sample("8gaussians", config["batch"], generator=gen, device=device)
        objective = ot_flow.ot_flow_objective(model, x, alpha=tuple(config["alpha"]), n_steps=config["n_steps"])
        if logged(step):  # 0-d tensors on the device: read back once, after training
            terms_at[step] = {"nll": objective.nll, "kinetic": objective.kinetic, "hjb": objective.hjb}
        return objective.loss

    training.train(
        loss_fn,
        model,
        steps=config["steps"],
        lr=config["lr"],
        progress=progress,
        description="ot_flow",
        scheduler=_cosine(config["steps"]),
    )
    log = [(step, *(round(float(terms[k]), 4) for k in ("nll", "kinetic", "hjb"))) for step, terms in terms_at.items()]
    for step, nll, kinetic, hjb in log:
        print(f"ot_flow step {step:5d}  nll {nll:.4f}  L {kinetic:.4f}  R {hjb:.4f}", flush=True)
    return model.eval(), log


def load_pretrained(kind: str, directory: str | Path | None = None) -> nn.Module:
    """Load the shipped (or a freshly written) checkpoint ``<kind>_8gaussians.pt`` as a model in eval mode.

    Args:
        kind: ``"cnf"`` or ``"ot_flow"``.
        directory: Folder of the checkpoint (default: the package's ``checkpoints``).

    Returns:
        The model on the CPU, in float32; its training settings are in ``model.pretrain_info``.
    """
    path = Path(directory or CHECKPOINTS) / f"{kind}_8gaussians.pt"
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint {path}; create it with `python -m coursekit.course.pretrain`")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model = build(kind, **payload["architecture"])
    model.load_state_dict(payload["state_dict"])
    model.pretrain_info = {k: v for k, v in payload.items() if k != "state_dict"}  # type: ignore[assignment]  # a plain attribute, not a Module's parameter or buffer
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m coursekit.course.pretrain [--quick] [--out DIR] [--only NAME]``."""
    parser = argparse.ArgumentParser(prog="python -m coursekit.course.pretrain", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps only (tests)")
    parser.add_argument("--out", default=str(CHECKPOINTS), help="folder for the .pt files")
    parser.add_argument("--only", choices=("cnf", "ot_flow"), help="train one model only")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is best on a busy machine)")
    parser.add_argument("--device", default="cpu", help="cpu (default, reproducible) or cuda")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    configs = QUICK if args.quick else FULL
    trainers = {"cnf": train_cnf, "ot_flow": train_ot_flow}
    for kind in [args.only] if args.only else list(trainers):
        start = time.perf_counter()
        model, log = trainers[kind](configs[kind], device=args.device)
        held_out = toys.sample("8gaussians", 2000, generator=torch.Generator().manual_seed(123))
        nll = evaluate_nll(kind, model.cpu(), held_out)
        payload = {
            "architecture": ARCHITECTURE[kind],
            "config": configs[kind],
            "log": log,
            "held_out_nll": nll,
            "seconds": round(time.perf_counter() - start, 1),
            "quick": args.quick,
            "state_dict": {k: v.detach().cpu().float() for k, v in model.state_dict().items()},
        }
        torch.save(payload, out / f"{kind}_8gaussians.pt")
        print(
            f"{kind}: held-out NLL {nll:.4f} nats (8 RK4 steps), {payload['seconds']} s -> "
            f"{out / f'{kind}_8gaussians.pt'}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
