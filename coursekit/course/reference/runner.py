"""Running a reference experiment: configuration hash, per-seed cache (resume), atomic results file.

An :class:`Experiment` is a chapter's named demonstration: a frozen configuration dataclass for the
full size and one for the quick (toy) size, and a function that runs one seed and returns that
seed's figures, a flat ``{name: number}`` dict. :func:`run_experiment`

1. hashes the configuration (:func:`config_hash`: sha256 of its JSON, with the class name and a
   ``version`` string that the experiment's author bumps whenever the code changes its numbers);
2. runs the seeds in order, writing each seed's figures to a cache file keyed by that hash, so an
   interrupted run restarts at the first seed it has not finished (and never reuses the figures
   of a changed configuration);
3. summarises every figure over the seeds as mean, sd and the per-seed values
   (:class:`coursekit.metrics.Spread`), adds the seed-independent figures (data floors), the
   sizes, the machine, the library version and the wall time, and writes the results JSON
   atomically (a temporary file, then ``os.replace``): a reader sees the old file or the new one,
   never half of one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "CACHE_ENV",
    "Experiment",
    "atomic_write_json",
    "config_hash",
    "default_cache_dir",
    "machine",
    "run_experiment",
]

#: Environment variable naming the folder of the per-seed cache (default ``~/.cache/coursekit/reference``).
CACHE_ENV = "COURSEKIT_REFERENCE_CACHE"

SeedRunner = Callable[[Any, int, torch.device, bool], dict[str, float]]
SharedRunner = Callable[[Any, torch.device], dict[str, dict]]


@dataclass(frozen=True)
class Experiment:
    """A named reference experiment of a chapter.

    Attributes:
        chapter: The chapter's two-digit number, e.g. ``"05"``.
        name: Short file-name-safe name, e.g. ``"couplings"``.
        title: One line saying what it measures.
        full: The full-size configuration (a frozen dataclass with ``seeds`` and ``version`` fields):
            the one whose results ship with the package.
        quick: The toy-size configuration of the same code (seconds; for tests and smoke runs).
        run_seed: ``run_seed(config, seed, device, progress) -> {figure name: number}``.
        shared: ``shared(config, device) -> {name: record}``, the seed-independent figures (data
            floors), or ``None``.
        sizes: Names of the configuration fields that are sizes (copied into ``results["sizes"]``).
    """

    chapter: str
    name: str
    title: str
    full: Any
    quick: Any
    run_seed: SeedRunner
    shared: SharedRunner | None = None
    sizes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """``"<chapter>_<name>"``, the stem of its results file."""
        return f"{self.chapter}_{self.name}"

    def with_seeds(self, config: Any, n_seeds: int) -> Any:
        """A copy of ``config`` with seeds ``0 .. n_seeds - 1`` (the CLI's ``--seeds N``).

        Args:
            config: A configuration of this experiment.
            n_seeds: Number of seeds, at least 1.

        Returns:
            The new frozen configuration.
        """
        if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or n_seeds < 1:
            raise ValueError(f"the number of seeds must be a positive int, got {n_seeds!r}")
        return dataclasses.replace(config, seeds=tuple(range(n_seeds)))


def config_hash(config: Any) -> str:
    """The sha256 (hex) of a configuration: its class name and fields as sorted JSON.

    Args:
        config: A dataclass instance whose fields are JSON values (numbers, strings, tuples).

    Returns:
        64 hex digits; any change of a field (sizes, steps, seeds, ``version``) changes it.

    Example:
        >>> @dataclasses.dataclass(frozen=True)
        ... class C:
        ...     steps: int = 10
        >>> config_hash(C()) == config_hash(C()) != config_hash(C(steps=11))
        True
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"config must be a dataclass instance, got {type(config).__name__}")
    payload = {"class": type(config).__qualname__, "fields": dataclasses.asdict(config)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def atomic_write_json(path: str | Path, payload: dict) -> Path:
    """Write ``payload`` as JSON to ``path`` through a temporary file in the same folder and ``os.replace``.

    Args:
        path: Destination file (its folder is created).
        payload: JSON-ready dict.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(payload, stream, indent=1, sort_keys=False, allow_nan=False)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private (0600); give it the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def default_cache_dir() -> Path:
    """The per-seed cache folder: ``$COURSEKIT_REFERENCE_CACHE``, else ``~/.cache/coursekit/reference``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "coursekit" / "reference"


def machine(device: torch.device) -> dict:
    """The machine a run used: platform, CPU model and count, torch version and threads, the device.

    Args:
        device: The experiment's device.

    Returns:
        A JSON-ready dict.
    """
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu,
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def _read_cache(path: Path, digest: str) -> dict | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # absent or unreadable (never half-written: atomic writes): compute again
    return record if record.get("config_hash") == digest else None


def run_experiment(
    experiment: Experiment,
    config: Any,
    out_dir: str | Path,
    *,
    device: torch.device | str = "cpu",
    cache_dir: str | Path | None = None,
    progress: bool = True,
    command: str | None = None,
) -> dict:
    """Run every seed of ``config`` (resuming from the cache), then write ``out_dir/<chapter>_<name>.json``.

    Args:
        experiment: The experiment.
        config: Its configuration (``experiment.full``, ``experiment.quick`` or a variant).
        out_dir: Folder of the results file.
        device: Where to train and sample.
        cache_dir: Folder of the per-seed cache (default :func:`default_cache_dir`); the run's
            entries are deleted once the results file is written.
        progress: Show progress bars.
        command: The command line to record in the results.

    Returns:
        The results dict that was written.
    """
    from tqdm.auto import tqdm

    import coursekit
    from coursekit.metrics.spread import Spread

    device = torch.device(device)
    digest = config_hash(config)
    cache = Path(cache_dir or default_cache_dir()) / f"{experiment.key}_{digest[:16]}"
    seeds = tuple(config.seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"config.seeds must be distinct and non-empty, got {seeds}")
    per_seed: list[dict] = []
    bar = tqdm(seeds, desc=f"{experiment.key}: seeds", disable=not progress)
    for seed in bar:
        path = cache / f"seed_{seed}.json"
        record = _read_cache(path, digest)
        if record is None:
            start, cpu = time.perf_counter(), time.process_time()
            seed_figures = experiment.run_seed(config, seed, device, progress)
            record = {
                "config_hash": digest,
                "seed": seed,
                "seconds": time.perf_counter() - start,
                "cpu_seconds": time.process_time() - cpu,
                "figures": {k: float(v) for k, v in seed_figures.items()},
            }
            atomic_write_json(path, record)
        else:
            bar.write(f"{experiment.key}: seed {seed} taken from the cache ({path})")
        per_seed.append(record)
    shared_seconds, shared = 0.0, {}
    if experiment.shared is not None:
        path = cache / "shared.json"
        record = _read_cache(path, digest)
        if record is None:
            start = time.perf_counter()
            record = {"config_hash": digest, "seconds": 0.0, "figures": experiment.shared(config, device)}
            record["seconds"] = time.perf_counter() - start
            atomic_write_json(path, record)
        shared_seconds, shared = record["seconds"], record["figures"]
    names = list(per_seed[0]["figures"])
    for record in per_seed[1:]:
        if list(record["figures"]) != names:
            raise RuntimeError(f"seed {record['seed']} reported other figures than seed {per_seed[0]['seed']}")
    figures = {name: Spread.of([r["figures"][name] for r in per_seed]).to_dict() for name in names}
    fields = dataclasses.asdict(config)
    results = {
        "chapter": experiment.chapter,
        "experiment": experiment.name,
        "title": experiment.title,
        "config_class": type(config).__qualname__,
        "config": fields,
        "config_hash": digest,
        "version": fields.get("version"),
        "full_size": digest == config_hash(experiment.full),
        "seeds": list(seeds),
        "n_seeds": len(seeds),
        "sizes": {name: fields[name] for name in experiment.sizes},
        "figures": figures,
        "shared": shared,
        "seed_seconds": [round(r["seconds"], 2) for r in per_seed],
        "wall_time_s": round(sum(r["seconds"] for r in per_seed) + shared_seconds, 1),
        "seed_cpu_seconds": [round(r["cpu_seconds"], 2) if "cpu_seconds" in r else None for r in per_seed],
        "machine": machine(device),
        "library_version": coursekit.__version__,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_json(Path(out_dir) / f"{experiment.key}.json", results)
    shutil.rmtree(cache, ignore_errors=True)
    return results
