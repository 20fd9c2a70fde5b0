"""The benchmark command (python -m coursekit.course.benchmarks).

Quick runs, the files it writes, the shipped results.
"""

import json

import pytest

from coursekit.course import benchmarks
from coursekit.course.benchmarks.__main__ import main
from coursekit.course.benchmarks.report import Table


def test_table_formats_every_row_and_column():
    table = Table("t", "title", [{"a": 1, "b": 2.34567, "c": None}, {"a": 10, "b": 0.5, "c": "x"}], ["a note"])
    lines = table.format().splitlines()
    assert lines[0] == "title" and lines[1].split() == ["a", "b", "c"] and lines[-1].strip() == "a note"
    assert lines[3].split() == ["1", "2.346", "-"] and lines[4].split() == ["10", "0.5", "x"]


def test_unknown_benchmark_is_named(capsys):
    with pytest.raises(SystemExit):
        main(["nonsense", "--quick"])
    assert "unknown benchmark(s) nonsense" in capsys.readouterr().err
    with pytest.raises(KeyError, match="known: "):
        benchmarks.load("nonsense")


@pytest.mark.slow
def test_quick_cfm_and_ode_runs_write_tables_with_their_ratios(tmp_path):
    assert main(["cfm", "ode", "--quick", "--out", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["quick"] is True and payload["machine"]["device"] == "cpu"
    tables = {t["name"]: t for t in payload["tables"]}
    cfm = tables["cfm_throughput"]["rows"]
    assert {r["coupling"] for r in cfm} == {"I-CFM", "OT-CFM"}
    for row in cfm:
        assert row["coursekit steps/s"] > 0
        assert row["torchcfm steps/s"] is not None, "torchcfm (the peer) is not installed: `make` installs it"
        assert row["coursekit / torchcfm"] == pytest.approx(
            row["coursekit steps/s"] / row["torchcfm steps/s"], rel=0.02
        )
    ot = next(r for r in cfm if r["coupling"] == "OT-CFM")
    assert ot["OT step cost / I step"] > 1  # an assignment problem per step is not free
    for row in tables["ode_adapter"]["rows"]:
        assert row["max |difference|"] < 1e-5  # the adapter solves the same ODE
        assert row["adapter / direct"] > 0
    assert (tmp_path / "cfm_throughput.csv").read_text().startswith("batch,coupling,")


def test_shipped_results_load_as_tables():
    results = benchmarks.load_results("cpu")
    names = {t.name for t in results["tables"]}
    assert {"families_8gaussians", "families_checkerboard", "cfm_throughput", "ode_adapter"} <= names
    assert results["quick"] is False
    for table in results["tables"]:
        if table.name.startswith("families_"):
            assert [r["method"] for r in table.rows] == list(benchmarks.load("families").METHODS)
    with pytest.raises(FileNotFoundError, match="shipped"):
        benchmarks.load_results("tpu")


def test_quick_threads_benchmark_times_one_and_two_threads(tmp_path):
    assert main(["threads", "--quick", "--out", str(tmp_path)]) == 0
    table = next(t for t in json.loads((tmp_path / "results.json").read_text())["tables"] if t["name"] == "threads")
    assert [row["torch threads"] for row in table["rows"]] == [1, 2]
    assert all(row["quiet ms/step"] > 0 and row["busy ms/step"] > 0 for row in table["rows"])
