r"""Chapter 5's reference experiment: I-CFM against OT-CFM on 8 Gaussians and the checkerboard.

For each seed, dataset and coupling (``"independent"``: I-CFM, ``"ot"``: exact minibatch OT-CFM)
the same network (MLP 3x64, the same initial weights for both couplings) is trained with
:func:`coursekit.flows.flow_matching.cfm_loss` on the same data and noise batches, for an equal
budget of Adam steps, then sampled from the same noise with 1, 2, 4, 8 Euler steps and with
dopri5. Figures per seed (names ``"<dataset>/<coupling>/<metric>"``):

* ``w2_euler_<k>``, ``w2_dopri5``: exact $W_2$ between ``n_eval`` samples and ``n_eval`` fresh data
  points (beside the data floor ``"<dataset>/floor_w2"`` at the same size, :func:`coursekit.metrics.data_floor`);
* ``nfe_dopri5``: the adaptive solver's number of velocity evaluations (``rtol = atol``);
* ``npe``: normalized path energy of the dopri5 paths saved at ``n_save`` times (1 = straight);
* ``kl``, ``kl_se``, ``nll``: $\mathrm{KL}(p_{\text{data}}\,\|\,q_\theta)$ in nats on ``n_kl``
  held-out points, its standard error within the seed, and the NLL
  (:func:`coursekit.metrics.toy_kl_divergence`; $\log q_\theta$ by the instantaneous change of
  variables, :func:`coursekit.flows.cnf.log_likelihood`, dopri5, exact divergence);
* ``loss_end`` (mean CFM loss over the last tenth of training) and ``step_ms`` (training time per step);
* ``"<dataset>/ot_minus_independent/<metric>"``: the paired difference within the seed, and
  ``"<dataset>/ot_over_independent/step_ms"`` the ratio of the training times per step.

Run: ``python -m coursekit.course.reference run 05`` (full size, writes the shipped file) or
``... run 05 --quick`` (seconds).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from coursekit.course.reference.runner import Experiment
from coursekit.data import toys
from coursekit.flows import cnf, flow_matching as fm, path_metrics
from coursekit.metrics import data_floor, toy_kl_divergence, wasserstein2
from coursekit.nn import networks, training

__all__ = ["COUPLINGS", "CouplingsConfig", "evaluate", "run_seed", "shared", "train_flow"]

#: Bump when a change of this module changes the numbers it produces (it is part of the hash).
VERSION = "1"


@dataclass(frozen=True)
class CouplingsConfig:
    """Sizes and settings of the I-CFM vs OT-CFM comparison (every field enters the configuration hash).

    Attributes:
        datasets: Toy datasets (:mod:`coursekit.data.toys`).
        couplings: The couplings compared (:data:`coursekit.flows.flow_matching.COUPLINGS`).
        seeds: Training seeds (initial weights, batches, evaluation noise).
        steps: Adam steps per model: the equal training budget.
        batch: Minibatch size (also the size of each OT problem).
        lr: Adam's learning rate (constant).
        hidden: Width of the MLP.
        layers: Hidden layers of the MLP.
        n_eval: Samples and fresh data points of each $W_2$ (and the floor's size).
        euler_steps: Numbers of Euler steps sampled.
        rtol: Relative tolerance of the dopri5 sampling solve.
        atol: Absolute tolerance of the dopri5 sampling solve.
        n_save: Saved times of the dopri5 path behind the normalized path energy.
        n_kl: Held-out points of the KL estimate (0: no KL).
        floor_draws: Independent pairs behind each data floor.
        version: Version of this module's code (``VERSION``).
    """

    datasets: tuple[str, ...] = ("8gaussians", "checkerboard")
    couplings: tuple[str, ...] = ("independent", "ot")
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 3000
    batch: int = 256
    lr: float = 3e-3
    hidden: int = 64
    layers: int = 3
    n_eval: int = 2000
    euler_steps: tuple[int, ...] = (1, 2, 4, 8)
    rtol: float = 1e-4
    atol: float = 1e-4
    n_save: int = 20
    n_kl: int = 2000
    floor_draws: int = 5
    version: str = VERSION


def train_flow(
    config: CouplingsConfig, dataset: str, coupling: str, seed: int, device: torch.device, progress: bool = False
) -> tuple[torch.nn.Module, float, float]:
    """Train one flow-matching MLP with ``cfm_loss`` for ``config.steps`` steps.

    The initial weights depend only on ``seed`` and the batches only on ``seed`` (one generator on
    ``device``), so the two couplings of a seed start from the same network and see the same data
    and noise: the coupling is the only difference.

    Args:
        config: The configuration.
        dataset: A toy dataset name.
        coupling: ``"independent"`` or ``"ot"``.
        seed: The seed.
        device: Where to train.
        progress: Show the training's progress bar.

    Returns:
        The trained network (in eval mode), the mean loss over the last tenth of the steps, and
        the training time per step in milliseconds.
    """
    with torch.random.fork_rng(devices=[]):  # the initial weights, without touching the global state
        torch.manual_seed(seed)
        net = networks.MLP(2, hidden=config.hidden, layers=config.layers)
    net = net.to(device)
    gen = torch.Generator(device).manual_seed(1000 + seed)

    def loss_fn(step: int) -> torch.Tensor:
        x_data = toys.sample(dataset, config.batch, generator=gen, device=device)
        return fm.cfm_loss(net, x_data, coupling=coupling, generator=gen)

    start = time.perf_counter()
    losses = training.train(
        loss_fn,
        net,
        steps=config.steps,
        lr=config.lr,
        progress=progress,
        description=f"{dataset} {coupling} seed {seed}",
    )
    step_ms = 1e3 * (time.perf_counter() - start) / config.steps
    tail = losses[-max(1, config.steps // 10) :]
    return net.eval(), sum(tail) / len(tail), step_ms


def evaluate(
    config: CouplingsConfig,
    net: torch.nn.Module,
    dataset: str,
    data: torch.Tensor,
    z: torch.Tensor,
    held_out: torch.Tensor | None,
) -> dict[str, float]:
    r"""Sample a trained flow from the noise ``z`` and measure it against the fresh ``data``.

    Args:
        config: The configuration.
        net: The velocity network $v_\theta(x, t)$.
        dataset: Its dataset's name (for the exact log-density of the KL).
        data: Fresh data points, shape ``(n_eval, 2)``, on the network's device.
        z: Noise at $t = 1$, shape ``(n_eval, 2)``, on the network's device.
        held_out: Held-out points for the KL, shape ``(n_kl, 2)``, or ``None``.

    Returns:
        The figures ``w2_euler_<k>``, ``w2_dopri5``, ``nfe_dopri5``, ``npe`` (and ``kl``, ``kl_se``, ``nll``).
    """
    figures = {}
    for n in config.euler_steps:
        figures[f"w2_euler_{n}"] = wasserstein2(fm.sample(net, z, n_steps=n).samples, data)
    run = fm.sample(net, z, rtol=config.rtol, atol=config.atol)
    figures["w2_dopri5"] = wasserstein2(run.samples, data)
    figures["nfe_dopri5"] = float(run.nfe)
    path = fm.sample(net, z, rtol=config.rtol, atol=config.atol, n_save=config.n_save)
    if path.trajectory is None or path.t_grid is None:
        raise RuntimeError(f"fm.sample kept no trajectory with n_save={config.n_save}")
    figures["npe"] = path_metrics.normalized_path_energy(path.trajectory, path.t_grid)
    if held_out is not None:
        log_q = cnf.log_likelihood(net, held_out, method="dopri5", rtol=1e-5, atol=1e-5).log_prob
        kl = toy_kl_divergence(dataset, held_out, log_q)
        figures.update(kl=kl.kl.value, kl_se=kl.kl.standard_error, nll=kl.nll.value)
    return figures


def run_seed(config: CouplingsConfig, seed: int, device: torch.device, progress: bool = False) -> dict[str, float]:
    """Every dataset and coupling for one seed: train, sample, measure, and the paired differences.

    Args:
        config: The configuration.
        seed: The seed.
        device: Where to train and sample.
        progress: Show training progress bars.

    Returns:
        ``{"<dataset>/<coupling>/<metric>": value, "<dataset>/ot_minus_independent/<metric>": ...}``.
    """
    figures: dict[str, float] = {}
    for index, dataset in enumerate(config.datasets):
        gen = torch.Generator().manual_seed(10_000 + 100 * seed + index)  # evaluation: apart from training
        data = toys.sample(dataset, config.n_eval, generator=gen).to(device)
        z = torch.randn(config.n_eval, 2, generator=gen).to(device)
        held_out = toys.sample(dataset, config.n_kl, generator=gen).to(device) if config.n_kl else None
        per_coupling = {}
        for coupling in config.couplings:
            net, loss_end, step_ms = train_flow(config, dataset, coupling, seed, device, progress)
            measured = evaluate(config, net, dataset, data, z, held_out)
            measured.update(loss_end=loss_end, step_ms=step_ms)
            per_coupling[coupling] = measured
            figures.update({f"{dataset}/{coupling}/{k}": v for k, v in measured.items()})
        if set(config.couplings) >= {"independent", "ot"}:
            ot, independent = per_coupling["ot"], per_coupling["independent"]
            for metric, value in ot.items():
                if metric not in ("kl_se", "nll", "loss_end", "step_ms"):  # nll: the same difference as kl
                    figures[f"{dataset}/ot_minus_independent/{metric}"] = value - independent[metric]
            figures[f"{dataset}/ot_over_independent/step_ms"] = ot["step_ms"] / independent["step_ms"]
    return figures


def shared(config: CouplingsConfig, device: torch.device) -> dict[str, dict]:
    """The seed-independent figures: each dataset's $W_2$ data floor at ``n_eval`` points.

    Args:
        config: The configuration.
        device: Unused (the floor is computed on the CPU).

    Returns:
        ``{"<dataset>/floor_w2": Spread record}`` from :func:`coursekit.metrics.data_floor`.
    """
    return {
        f"{dataset}/floor_w2": data_floor(dataset, config.n_eval, draws=config.floor_draws).to_dict()
        for dataset in config.datasets
    }


COUPLINGS = Experiment(
    chapter="05",
    name="couplings",
    title="I-CFM vs OT-CFM on 8gaussians and checkerboard: W2 (n=2000, beside the floor) at 1, 2, 4, 8 Euler "
    "steps and dopri5, NFE, NPE, KL; equal budget of Adam steps, 3 seeds",
    full=CouplingsConfig(),
    quick=CouplingsConfig(seeds=(0, 1), steps=30, n_eval=96, euler_steps=(1, 2), n_save=4, n_kl=48, floor_draws=2),
    run_seed=run_seed,
    shared=shared,
    sizes=("steps", "batch", "hidden", "layers", "n_eval", "n_kl", "floor_draws"),
)
