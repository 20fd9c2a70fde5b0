"""Reference runs: every experiment runs in quick mode, shipped results match their configuration, resume works."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pytest

from coursekit.course import reference
from coursekit.course.reference import runner
from coursekit.course.reference.command import main as reference_main

ALL = [(chapter, name) for chapter in reference.chapters() for name in reference.experiments(chapter)]


@pytest.mark.parametrize(("chapter", "name"), ALL)
def test_every_experiment_runs_in_quick_mode(chapter, name, tmp_path):
    experiment = reference.get(chapter, name)
    (results,) = reference.run(
        chapter,
        [name],
        quick=True,
        device="cpu",
        out_dir=tmp_path / "out",
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    written = json.loads((tmp_path / "out" / f"{experiment.key}.json").read_text())
    assert written == json.loads(json.dumps(results))
    assert written["config_hash"] == runner.config_hash(experiment.quick) != runner.config_hash(experiment.full)
    assert not written["full_size"] and written["n_seeds"] == len(experiment.quick.seeds)
    for key in ("sizes", "machine", "library_version", "wall_time_s", "config", "seeds"):
        assert key in written
    assert {"platform", "cpu", "torch", "torch_threads"} <= set(written["machine"])
    for record in written["figures"].values():
        assert len(record["values"]) == written["n_seeds"]
        assert {"mean", "sd", "values"} <= set(record)
    assert not list((tmp_path / "cache").glob("*/*.json"))  # the cache is cleared once the results are written


def test_every_shipped_results_file_matches_its_experiments_current_configuration():
    assert reference.check_shipped() == []
    for chapter, name in ALL:
        path = reference.results_path(chapter, name)
        assert path.exists(), f"{path.name} is not shipped: run `python -m coursekit.course.reference run {chapter}`"
        results = json.loads(path.read_text())
        experiment = reference.get(chapter, name)
        assert results["config"] == json.loads(json.dumps(dataclasses.asdict(experiment.full)))
        assert results["full_size"] and results["n_seeds"] >= 3
        for record in results["figures"].values():
            assert len(record["values"]) == results["n_seeds"]


def test_a_changed_configuration_changes_the_hash():
    full = reference.get("05", "couplings").full
    assert runner.config_hash(full) == runner.config_hash(dataclasses.replace(full))
    for change in ({"steps": full.steps + 1}, {"seeds": (0, 1)}, {"version": full.version + "x"}, {"lr": 1e-3}):
        assert runner.config_hash(dataclasses.replace(full, **change)) != runner.config_hash(full)


def test_unknown_chapter_or_experiment_names_the_valid_choices(capsys):
    with pytest.raises(ValueError, match="unknown chapter '42'.*05"):
        reference.get("42", "couplings")
    with pytest.raises(ValueError, match="unknown experiment 'nope' in chapter 05.*couplings"):
        reference.get("5", "nope")
    assert reference_main(["run", "05", "nope", "--quick"]) == 2
    assert "valid experiments are couplings" in capsys.readouterr().err
    assert reference_main(["list"]) == 0
    assert "couplings" in capsys.readouterr().out


def test_the_course_command_has_the_reference_subcommand(capsys):
    from coursekit.course.cli import main

    assert main(["reference", "list", "05"]) == 0
    assert "05 couplings" in capsys.readouterr().out
    assert main(["reference", "run", "07"]) == 2
    assert "chapters with reference experiments are 05" in capsys.readouterr().err


def test_quick_runs_never_write_over_the_shipped_results(tmp_path):
    assert reference.default_out_dir(full_size=False) != reference.RESULTS
    with pytest.raises(ValueError, match="refusing to write a quick run"):
        reference.run("05", quick=True, out_dir=reference.RESULTS, cache_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="refusing to write a non-default run"):
        reference.run("05", n_seeds=2, out_dir=reference.RESULTS, cache_dir=tmp_path, progress=False)


# --- resume after an interruption, with a cheap synthetic experiment ------------------------------------


@dataclass(frozen=True)
class _Toy:
    seeds: tuple[int, ...] = (0, 1, 2)
    scale: float = 2.0
    version: str = "1"


def _toy_experiment(calls: list[int], fail_at: int | None = None) -> runner.Experiment:
    def run_seed(config, seed, device, progress):
        calls.append(seed)
        if seed == fail_at:
            raise KeyboardInterrupt(f"interrupted during seed {seed}")
        return {"value": config.scale * seed, "square": float(seed**2)}

    def shared(config, device):
        return {"floor": {"mean": 0.5, "sd": 0.1, "values": [0.4, 0.6], "n": 2}}

    return runner.Experiment("99", "toy", "a toy", _Toy(), _Toy(seeds=(0, 1)), run_seed, shared, sizes=("scale",))


def test_an_interrupted_run_resumes_at_the_next_seed_without_a_half_written_file(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    calls: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        runner.run_experiment(_toy_experiment(calls, fail_at=1), _Toy(), out, cache_dir=cache, progress=False)
    assert calls == [0, 1]
    assert not out.exists() or not list(out.iterdir())  # no results file, not even a partial or temporary one
    assert len(list(cache.glob("*/seed_*.json"))) == 1  # seed 0 is kept
    calls.clear()
    results = runner.run_experiment(_toy_experiment(calls), _Toy(), out, cache_dir=cache, progress=False)
    assert calls == [1, 2]  # seed 0 came from the cache
    assert results["figures"]["value"]["values"] == [0.0, 2.0, 4.0]
    assert results["figures"]["value"]["mean"] == pytest.approx(2.0) and results["figures"]["value"]["sd"] == 2.0
    assert results["shared"]["floor"]["mean"] == 0.5 and results["sizes"] == {"scale": 2.0}
    assert json.loads((out / "99_toy.json").read_text())["figures"] == results["figures"]
    assert [p.name for p in out.iterdir()] == ["99_toy.json"] and not list(cache.glob("*/*"))


def test_the_cache_of_another_configuration_is_never_reused(tmp_path):
    calls: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        runner.run_experiment(
            _toy_experiment(calls, fail_at=2), _Toy(), tmp_path, cache_dir=tmp_path / "c", progress=False
        )
    calls.clear()
    changed = _Toy(scale=3.0)
    results = runner.run_experiment(_toy_experiment(calls), changed, tmp_path, cache_dir=tmp_path / "c", progress=False)
    assert calls == [0, 1, 2] and results["figures"]["value"]["values"] == [0.0, 3.0, 6.0]


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    path = runner.atomic_write_json(tmp_path / "r.json", {"a": 1})
    with pytest.raises(ValueError):
        runner.atomic_write_json(path, {"a": float("nan")})  # JSON has no NaN: refused mid-write
    assert json.loads(path.read_text()) == {"a": 1} and [p.name for p in tmp_path.iterdir()] == ["r.json"]
