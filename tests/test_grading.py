"""The instructor's grader: solutions score full marks, blanks zero, every bad submission its status.

One batch (solutions/, book/ and every fixture of tests/fixtures/submissions/, made by
tests/fixtures/make_submissions.py, the class folder included) is graded once for the module, each
notebook as its own chapter, with two jobs, a 10 s limit and 64 MiB of disk in all.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from coursekit.course import cli
from coursekit.course.exercises import list_exercises
from coursekit.course.grading import Limits, grade, gradebook
from coursekit.course.grading.submission import read_submission

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "submissions"
LIMITS = Limits(timeout_s=10.0, disk_mb=64)
B, E, S, L = (
    "brownian.sample_brownian_motion",
    "sde_solvers.euler_maruyama",
    "schedules.linear_alpha_sigma",
    "langevin.langevin_dynamics",
)
FULL = {B: 4, E: 5, S: 3, L: 3}

# fixture: (submission status, points per exercise, status of each exercise that is not "passed")
EXPECTED = {
    "not_json": ("invalid", {}, {}),
    "not_a_notebook": ("invalid", {}, {}),
    "empty": ("no exercises", {}, {}),
    "other_chapter": ("unknown chapter", {}, {}),
    "missing_cell": ("missing", {**FULL, L: 0}, {L: "missing"}),
    "renamed_cells": ("ok", FULL, {}),
    "split_duplicated": ("ok", FULL, {}),
    "raises": ("error", {**FULL, E: 0, S: 0}, {E: "failed", S: "error"}),
    "infinite_loop": ("timeout", {**FULL, E: 0}, {E: "timeout"}),
    "memory_bomb": ("memory", {**FULL, S: 0}, {S: "memory"}),
    "huge_output": ("ok", FULL, {}),
    "exits": ("error", {**FULL, B: 0, E: 0}, {B: "failed", E: "error"}),
    # under bubblewrap, killing its own process group fails (a new session in a PID namespace): 0 points either way
    "kills_itself": ("crashed", {**FULL, B: 0, L: 0}, {B: "crashed", L: ("crashed", "failed")}),
    "monkeypatch": ("tampered", {**FULL, B: 0, S: 0}, {B: "tampered", S: "tampered"}),
    "forged_outputs": ("ok", dict.fromkeys(FULL, 0), dict.fromkeys(FULL, "not done")),
    # "passed" results and forged outputs sent through the child's own channel: the parent takes the verdict
    "forged_channel": ("crashed", dict.fromkeys(FULL, 0), {B: "crashed", E: "crashed", S: "crashed", L: "failed"}),
    "writes_outside": ("forbidden", {**FULL, B: 0, S: 0}, {B: "forbidden", S: "forbidden"}),
    "calls_reference": ("ok", FULL, {}),
    "training_cells": ("ok", FULL, {}),
    "deeply_nested": ("invalid", {}, {}),
    "folder": ("not a notebook", {}, {}),
    "broken_link": ("unreadable", {}, {}),
    "broken_first_copy": ("ok", FULL, {}),
    "disk_hog": ("disk", {**FULL, B: 0}, {B: "disk"}),
}
CLASS = sorted(p for p in (FIXTURES / "class").rglob("*.ipynb"))
CANARIES = [Path("/tmp/coursekit-fixture-canary.txt"), Path("/tmp/coursekit-fixture-escaped.txt")]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    for canary in CANARIES:
        canary.unlink(missing_ok=True)
    out = tmp_path_factory.mktemp("gradebook")
    report = grade([ROOT / "solutions", ROOT / "book", FIXTURES], out, jobs=2, limits=LIMITS, chapter="each")
    return out, report, {r["student"]: r for r in report.records}


def test_every_fixture_is_in_the_table():
    assert {p.stem for p in FIXTURES.glob("*.ipynb")} == set(EXPECTED)
    assert (FIXTURES / "broken_link.ipynb").is_symlink() and (FIXTURES / "folder.ipynb").is_dir()


def test_solutions_score_full_marks(batch):
    _, _, records = batch
    solutions = {k: r for k, r in records.items() if k.startswith("solutions/")}
    assert len(solutions) == len(list((ROOT / "solutions").glob("*.ipynb"))) > 0
    for name, r in solutions.items():
        assert r["status"] == "ok" and r["total"] == r["max"] > 0, (name, r["message"])
        assert list(r["exercises"]) == list_exercises(Path(name).name)


def test_book_scores_zero_and_runs(batch):
    _, _, records = batch
    book = {k: r for k, r in records.items() if k.startswith("book/")}
    assert len(book) == len(list((ROOT / "book").glob("*.ipynb"))) > 0
    for name, r in book.items():
        assert r["status"] == "ok" and r["total"] == 0 and r["max"] > 0, name
        assert {e["status"] for e in r["exercises"].values()} == {"not done"}, name


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_fixture_gets_its_status_and_points(batch, fixture):
    status, points, statuses = EXPECTED[fixture]
    record = batch[2][f"submissions/{fixture}"]
    assert record["status"] == status, record["message"]
    assert {i: e["points"] for i, e in record["exercises"].items()} == points
    for exercise_id, e in record["exercises"].items():
        expected = statuses.get(exercise_id, "passed")
        assert e["status"] in (expected if isinstance(expected, tuple) else (expected,)), (exercise_id, e["message"])


def test_reference_calls_are_flagged(batch):
    out, _, records = batch
    assert records["submissions/calls_reference"]["flags"] == [B, E, S]
    assert records["submissions/renamed_cells"]["flags"] == []
    text = (out / "feedback" / "submissions__calls_reference.md").read_text()
    assert "calls the library's reference" in text


def test_nothing_was_written_outside(batch):
    assert not any(canary.exists() for canary in CANARIES)


def test_last_definition_is_graded_and_the_broken_copy_noted(batch):
    out, _, records = batch
    exercise = records["submissions/broken_first_copy"]["exercises"][E]
    assert exercise["status"] == "passed" and exercise["points"] == FULL[E]
    assert any("an earlier copy of euler_maruyama" in n and "AttributeError" in n for n in exercise["notes"])
    text = (out / "feedback" / "submissions__broken_first_copy.md").read_text()
    assert "the last definition was graded" in text


def test_disk_is_capped_in_all(batch):
    record = batch[2]["submissions/disk_hog"]
    assert "disk limit" in record["exercises"][B]["message"]
    assert record["isolation"] in ("bubblewrap", "guard")


def test_feedback_explains_lost_points(batch):
    out, _, _ = batch
    text = (out / "feedback" / "submissions__monkeypatch.md").read_text()
    assert "tampered" in text and "coursekit.course.exercises.run_checks" in text
    text = (out / "feedback" / "submissions__infinite_loop.md").read_text()
    assert "over the time limit of 10 s" in text


def test_mixed_batch_has_one_row_per_submission(batch):
    out, report, _ = batch
    rows = list(csv.DictReader((out / "grades.csv").open()))
    notebooks = [*(ROOT / "solutions").glob("*.ipynb"), *(ROOT / "book").glob("*.ipynb"), *FIXTURES.glob("*.ipynb")]
    notebooks += CLASS
    assert rows[0]["student"] == gradebook.POSSIBLE
    assert len(rows) == 1 + len(notebooks) == 1 + len(report.records)
    assert len({r["student"] for r in rows}) == len(rows)
    for column in list_exercises("01_sde_basics"):
        assert column in rows[0]
    document = json.loads((out / "grades.json").read_text())
    assert len(document["submissions"]) == len(notebooks)
    assert len(list((out / "feedback").glob("*.md"))) == len(notebooks)


def test_rerun_reuses_cached_results(batch):
    out, _, _ = batch
    before = (out / "grades.csv").read_text()
    again = grade([FIXTURES], out, jobs=2, limits=LIMITS, chapter="each")
    assert again.reused == len(again.records) == len(EXPECTED) + len(CLASS)
    assert again.seconds < 20
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(before))}
    for row in list(csv.DictReader((out / "grades.csv").open()))[1:]:  # (points possible) depends on the batch
        for key in ("file", "total", "status", "flags", "message", *FULL):
            assert row[key] == rows[row["student"]][key], (row["student"], key)


def test_interrupted_write_keeps_the_gradebook(batch, tmp_path, monkeypatch):
    out, report, _ = batch
    target = tmp_path / "out"
    gradebook.write_gradebook(target, report.records[:2], [B], {B: 4})
    before = (target / "grades.json").read_text()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(gradebook.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        gradebook.write_gradebook(target, report.records, [B], {B: 4})
    assert (target / "grades.json").read_text() == before
    json.loads(before)
    assert not list(target.glob(".*.tmp"))


def test_hidden_tests_count_and_are_named_not_shown(tmp_path):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "chapter1.py").write_text(
        "import torch\n"
        "POINTS = {'test_schedules_linear_alpha_sigma__at_zero': 2}\n\n"
        "def test_schedules_linear_alpha_sigma__at_zero(fn):\n"
        "    alpha, sigma = fn(torch.tensor(0.0))\n"
        "    assert alpha.item() == 1.0 and sigma.item() == 0.0\n\n"
        "def test_schedules_linear_alpha_sigma__secret(fn):\n"
        "    assert False, 'SECRET MESSAGE'\n"
    )
    report = grade([ROOT / "solutions" / "01_sde_basics.ipynb"], tmp_path / "out", hidden_tests=hidden, limits=LIMITS)
    (record,) = report.records
    exercise = record["exercises"][S]
    assert (exercise["points"], exercise["max_points"]) == (3 + 2, 3 + 2 + 1)
    assert record["total"] == 15 + 2 and record["max"] == 15 + 3
    text = (tmp_path / "out" / "feedback" / "01_sde_basics.md").read_text()
    assert "hidden test 'test_schedules_linear_alpha_sigma__secret': lost 1" in text
    assert "SECRET" not in text and "assert" not in text


def test_wrong_chapter_is_not_run(tmp_path):
    with pytest.raises(ValueError, match="no exercises in chapter '99_nothing'"):
        grade([FIXTURES / "renamed_cells.ipynb"], tmp_path, chapter="99_nothing")
    others = sorted({c for c in (Path(p).stem for p in (ROOT / "solutions").glob("*.ipynb"))} - {"01_sde_basics"})
    if not others or not list_exercises(others[0]):
        pytest.skip("only one chapter has exercises")
    report = grade([FIXTURES / "renamed_cells.ipynb"], tmp_path / "other", chapter=others[0])
    assert report.records[0]["status"] == "wrong chapter" and report.records[0]["total"] == 0


def test_training_cells_are_never_extracted():
    submission = read_submission(FIXTURES / "training_cells.ipynb")
    assert submission.status == "ok" and submission.chapter == "01_sde_basics"
    for code in submission.exercises.values():
        assert "while True" not in code.source and "os._exit" not in code.source
    assert "import torch" in submission.preamble and "plt" not in submission.preamble


def test_command_line(tmp_path, capsys):
    assert cli.main(["grade", str(FIXTURES / "not_json.ipynb"), "--out", str(tmp_path), "--jobs", "1"]) == 0
    assert "graded 1 submissions" in capsys.readouterr().out
    row = list(csv.DictReader((tmp_path / "grades.csv").open()))[-1]
    assert row["status"] == "invalid" and row["total"] == "0"
    with pytest.raises(SystemExit, match="does not exist"):
        cli.main(["grade", str(tmp_path / "nowhere"), "--out", str(tmp_path)])


def test_the_verdict_is_taken_on_replayed_outputs():
    import io

    import torch

    from coursekit.course.exercises import get_exercise
    from coursekit.course.grading.verdict import judge, record

    reference = get_exercise(E).reference
    blob = record(E, reference, {}, salt=1234)
    assert judge(E, blob, {}, salt=1234)["status"] == "passed"
    # outputs recorded on the notebook's own seeds do not pass under the grader's secret salt
    assert judge(E, record(E, reference, {}, salt=0), {}, salt=1234)["status"] == "failed"
    buffer = io.BytesIO()
    torch.save({c.name: [["returned", None]] for c in get_exercise(E).checks}, buffer)
    forged = judge(E, buffer.getvalue(), {}, salt=1234)
    assert forged["status"] == "failed" and forged["passed"] == []
    with pytest.raises(ValueError, match="unreadable"):
        judge(E, b"not a torch.save file", {}, salt=1234)
