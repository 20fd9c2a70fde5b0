"""Reference runs: the chapters' demonstration experiments, full size, several seeds, shipped as results.

A notebook must run in 90 s on a CPU, too little to train the models whose comparison a chapter's
text relies on. Those experiments live here, registered by chapter and name, and run by one command::

    python -m coursekit.course.reference list
    python -m coursekit.course.reference run 05              # full size: writes the shipped results file
    python -m coursekit.course.reference run 05 --quick      # the same code at toy size, in seconds
    python -m coursekit.course.reference run 05 couplings --device cuda --seeds 5
    python -m coursekit.course.reference show 05             # print the shipped results
    coursekit reference ...                                  # the same, from the course's command

Each full-size run writes ``results/<chapter>_<name>.json`` in this package: every figure as mean,
sd and per-seed values, the number of seeds, the sizes, the machine, the library version, the
wall time and the sha256 of the experiment's configuration. Any other configuration (``--quick``,
``--seeds N``) is written elsewhere (``--out``, default a folder under the system's temporary
directory), never over a shipped file. A test checks that every shipped file's hash equals its
experiment's current configuration, so a shipped result cannot silently describe changed code.
Chapters show these files (:func:`load_results`) beside a live run of the same code.
"""

from __future__ import annotations

import importlib
import json
import tempfile
from pathlib import Path

import torch

from coursekit.course.reference.runner import Experiment, config_hash, run_experiment

__all__ = [
    "REGISTRY",
    "RESULTS",
    "Experiment",
    "chapters",
    "check_shipped",
    "config_hash",
    "default_out_dir",
    "experiments",
    "figure",
    "get",
    "load_results",
    "normalize_chapter",
    "results_path",
    "run",
]

#: Folder of the shipped results files, ``<chapter>_<name>.json``.
RESULTS = Path(__file__).parent / "results"

#: chapter -> experiment name -> ``"module:attribute"`` of its :class:`Experiment` (imported on demand).
REGISTRY: dict[str, dict[str, str]] = {
    "05": {"couplings": "coursekit.course.reference.chapter05:COUPLINGS"},
}


def chapters() -> list[str]:
    """The chapters that have reference experiments, e.g. ``["05"]``."""
    return sorted(REGISTRY)


def normalize_chapter(chapter: str | int) -> str:
    """Return the registry's spelling of a chapter (``5``, ``"5"``, ``"05"`` -> ``"05"``).

    Args:
        chapter: A chapter number or its two-digit string.

    Returns:
        The two-digit key.

    Raises:
        ValueError: For a chapter with no reference experiment; the message lists the valid ones.
    """
    key = str(chapter).strip()
    key = key.zfill(2) if key.isdigit() else key
    if key not in REGISTRY:
        raise ValueError(
            f"unknown chapter {chapter!r}: chapters with reference experiments are {', '.join(chapters())}"
        )
    return key


def experiments(chapter: str | int) -> list[str]:
    """The experiment names of a chapter.

    Args:
        chapter: A chapter (see :func:`normalize_chapter`).

    Returns:
        The names, sorted.
    """
    return sorted(REGISTRY[normalize_chapter(chapter)])


def get(chapter: str | int, name: str) -> Experiment:
    """The :class:`Experiment` registered as ``name`` in ``chapter``.

    Args:
        chapter: A chapter (see :func:`normalize_chapter`).
        name: One of :func:`experiments` ``(chapter)``.

    Returns:
        The experiment.

    Raises:
        ValueError: For an unknown chapter or name; the message lists the valid choices.
    """
    key = normalize_chapter(chapter)
    if name not in REGISTRY[key]:
        raise ValueError(
            f"unknown experiment {name!r} in chapter {key}: valid experiments are {', '.join(experiments(key))}"
        )
    module, attribute = REGISTRY[key][name].split(":")
    return getattr(importlib.import_module(module), attribute)


def results_path(chapter: str | int, name: str) -> Path:
    """The path of the shipped results file of an experiment (which may not exist yet)."""
    return RESULTS / f"{get(chapter, name).key}.json"


def load_results(chapter: str | int, name: str, path: str | Path | None = None) -> dict:
    """Load the results of an experiment: the shipped file, or the one at ``path``.

    Args:
        chapter: A chapter (see :func:`normalize_chapter`).
        name: The experiment.
        path: Another results file of the same experiment (e.g. a ``--quick`` run's).

    Returns:
        The results dict (see :func:`coursekit.course.reference.runner.run_experiment`); read a
        figure with :func:`figure`.

    Raises:
        FileNotFoundError: If the file does not exist (with the command that writes it).
    """
    path = Path(path) if path is not None else results_path(chapter, name)
    if not path.exists():
        raise FileNotFoundError(
            f"no results file {path}; write it with "
            f"`python -m coursekit.course.reference run {normalize_chapter(chapter)} {name}`"
        )
    return json.loads(path.read_text())


def figure(results: dict, name: str):
    """One figure of a results dict as a :class:`coursekit.metrics.Spread` (mean, sd, per-seed values).

    Args:
        results: From :func:`load_results`.
        name: The figure's name, e.g. ``"8gaussians/ot/w2_euler_1"``; the shared figures (floors)
            are found too.

    Returns:
        The :class:`~coursekit.metrics.Spread`.

    Raises:
        KeyError: For an unknown name (the message lists a few valid ones).
    """
    from coursekit.metrics.spread import Spread

    records = {**results["figures"], **results.get("shared", {})}
    if name not in records:
        raise KeyError(f"no figure {name!r}; figures include {', '.join(list(records)[:8])}, ...")
    return Spread.from_dict(records[name])


def default_out_dir(full_size: bool) -> Path:
    """Where a run writes by default: the shipped folder for the full configuration, a temporary folder otherwise."""
    return RESULTS if full_size else Path(tempfile.gettempdir()) / "coursekit-reference"


def run(
    chapter: str | int,
    names: list[str] | None = None,
    *,
    quick: bool = False,
    device: str | torch.device | None = None,
    n_seeds: int | None = None,
    out_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    command: str | None = None,
) -> list[dict]:
    """Run experiments of a chapter and write their results files (the command's ``run``).

    A configuration other than the experiment's full one (``quick``, or ``n_seeds`` different from
    its seeds) is never written into the shipped folder: it goes to ``out_dir`` or, by default, to
    a folder under the system's temporary directory.

    Args:
        chapter: A chapter (see :func:`normalize_chapter`).
        names: Experiments to run (default: all of the chapter's).
        quick: Run the quick (toy) configuration.
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available).
        n_seeds: Use seeds ``0 .. n_seeds - 1`` instead of the configuration's.
        out_dir: Folder of the results files.
        cache_dir: Folder of the per-seed cache (resume after an interruption).
        progress: Show progress bars.
        command: The command line, recorded in the results.

    Returns:
        The results dicts, one per experiment.

    Raises:
        ValueError: For an unknown chapter or experiment, or a non-default configuration aimed at
            the shipped folder.
    """
    key = normalize_chapter(chapter)
    chosen = [get(key, name) for name in (names or experiments(key))]
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for but CUDA is not available")
    outputs = []
    for experiment in chosen:
        config = experiment.quick if quick else experiment.full
        if n_seeds is not None:
            config = experiment.with_seeds(config, n_seeds)
        is_full = config_hash(config) == config_hash(experiment.full)
        target = Path(out_dir) if out_dir is not None else default_out_dir(is_full)
        if not is_full and target.resolve() == RESULTS.resolve():
            raise ValueError(
                f"refusing to write a {'quick' if quick else 'non-default'} run of {experiment.key} "
                f"into the shipped results folder {RESULTS}; choose another --out"
            )
        outputs.append(
            run_experiment(
                experiment, config, target, device=device, cache_dir=cache_dir, progress=progress, command=command
            )
        )
    return outputs


def check_shipped() -> list[str]:
    """Problems of the shipped results files: unknown experiment, or a configuration hash that differs.

    Returns:
        One line per problem (empty when every shipped file matches its experiment's current
        full configuration).
    """
    problems = []
    for path in sorted(RESULTS.glob("*.json")):
        results = json.loads(path.read_text())
        try:
            experiment = get(results["chapter"], results["experiment"])
        except (KeyError, ValueError) as error:
            problems.append(f"{path.name}: {error}")
            continue
        if path.stem != experiment.key:
            problems.append(f"{path.name}: holds {experiment.key}")
        if results.get("config_hash") != config_hash(experiment.full):
            problems.append(
                f"{path.name}: written by configuration {results.get('config_hash', '?')[:12]}, "
                f"but {experiment.key}'s full configuration now hashes to "
                f"{config_hash(experiment.full)[:12]}: rerun "
                f"`python -m coursekit.course.reference run {experiment.chapter} {experiment.name}`"
            )
    return problems
