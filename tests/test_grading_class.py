"""The grader on a class folder (issue 22): real names, the assignment's chapter, copies of the
solution, bad files that never stop the batch, and a grader stopped by SIGTERM.

The class folder tests/fixtures/submissions/class/ (one sub-folder per student) is written by
tests/fixtures/make_submissions.py.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coursekit.course.grading import Limits, grade
from coursekit.course.grading.assignment import infer_chapter
from coursekit.course.grading.gradebook import feedback_names
from coursekit.course.grading.sandbox import isolation
from coursekit.course.grading.submission import Submission, read_submission

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "submissions"
CLASS = FIXTURES / "class"
LIMITS = Limits(timeout_s=10.0, disk_mb=64)
STUDENTS = ["José Núñez", "Иван Петров", "李雷", "王芳", "Mary O'Brien", "Chen Wei"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("class-gradebook")
    report = grade([CLASS], out, jobs=2, limits=LIMITS)
    return out, report, {r["student"].split("/")[1]: r for r in report.records}


def test_the_assignment_chapter_is_inferred(graded):
    _, report, records = graded
    assert report.chapter == "01_sde_basics"
    assert set(records) == set(STUDENTS)
    wrong = records["Chen Wei"]
    assert wrong["status"] == "wrong chapter" and wrong["total"] == 0 and wrong["max"] == 15
    assert "wrong chapter" in wrong["flags"] and "05_flow_matching" in wrong["message"]
    for name in ("José Núñez", "Иван Петров", "李雷", "王芳"):
        assert records[name]["status"] == "ok" and records[name]["total"] == 0 and records[name]["max"] == 15


def test_points_possible_agree_with_every_row(graded):
    out, _, _ = graded
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert rows[0]["max"] == "15" and all(r["max"] == "15" for r in rows[1:])
    assert [c for c in rows[0] if "." in c] == [
        "brownian.sample_brownian_motion", "sde_solvers.euler_maruyama",
        "schedules.linear_alpha_sigma", "langevin.langevin_dynamics",
    ]  # fmt: skip


def test_a_copy_of_the_solution_is_flagged(graded):
    copy = graded[2]["Mary O'Brien"]
    assert copy["total"] == 15 and {"solution copy", "solution markers"} <= set(copy["flags"])
    assert not {"solution copy", "solution markers"} & set(graded[2]["李雷"]["flags"])


def test_feedback_keeps_real_names_and_hides_paths(graded):
    out, _, records = graded
    files = sorted(p.name for p in (out / "feedback").glob("*.md"))
    assert len(files) == len(STUDENTS)
    for name in STUDENTS:
        assert any(name in f for f in files), (name, files)
    assert "class__Mary O'Brien__01_sde_basics (1).md" in files
    for path in (out / "feedback").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert str(ROOT) not in text and str(Path.home()) not in text and "/tmp/" not in text, path.name
        assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert oct((out / "grades.csv").stat().st_mode & 0o777) == "0o644"
    document = json.loads((out / "grades.json").read_text(encoding="utf-8"))
    assert {r["feedback"] for r in document["submissions"]} == {f"feedback/{f}" for f in files}
    assert {r["isolation"] for r in records.values() if r["status"] == "ok"} == {isolation()}


def test_feedback_names_are_unique():
    names = feedback_names(["a/李雷", "a/王芳", "b/李雷", "Ana", "ana", "x:y", "a/李雷"])
    assert len(set(n.casefold() for n in names)) == len(names)
    assert names[:2] == ["a__李雷.md", "a__王芳.md"] and names[5] == "x_y.md"


def test_chapter_falls_back_to_the_file_names(tmp_path):
    def sub(name: str, chapter: str | None) -> Submission:
        return Submission(tmp_path / name, "", "ok" if chapter else "invalid", chapter=chapter)

    assert infer_chapter([sub("a.ipynb", "01_sde_basics"), sub("b.ipynb", "01_sde_basics"),
                          sub("c.ipynb", "05_flow_matching")]) == "01_sde_basics"  # fmt: skip
    assert infer_chapter([sub("a.ipynb", "01_sde_basics"), sub("05_flow_matching.ipynb", "05_flow_matching"),
                          sub("05_flow_matching (2).ipynb", None)]) == "05_flow_matching"  # fmt: skip
    assert infer_chapter([sub("x.ipynb", None)]) is None


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [("deeply_nested", "invalid", "nested too deeply"), ("folder", "not a notebook", "a folder"),
     ("broken_link", "unreadable", "broken link")],
)  # fmt: skip
def test_bad_files_become_a_status(name, status, words):
    submission = read_submission(FIXTURES / f"{name}.ipynb")
    assert submission.status == status and words in submission.message
    assert str(FIXTURES) not in submission.message


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_sigterm_kills_every_child_and_keeps_the_finished(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    paths = [FIXTURES / "not_json.ipynb", FIXTURES / "infinite_loop.ipynb", FIXTURES / "infinite_loop.ipynb"]
    command = [sys.executable, "-m", "coursekit.course.cli", "grade", *map(str, paths), "--out", str(tmp_path / "out")]
    grader = subprocess.Popen(
        [*command, "--timeout", "120", "--jobs", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 180
        children: set[int] = set()
        while time.monotonic() < deadline and len(children) < 2:
            time.sleep(0.5)
            assert grader.poll() is None, grader.stdout.read().decode()
            children = {p for p in _descendants(grader.pid) if "grading.child" in _command_line(p)}
        assert children, "no grading child started"
        time.sleep(2.0)
        children = _descendants(grader.pid)
        grader.send_signal(signal.SIGTERM)
        began = time.monotonic()
        code = grader.wait(timeout=30)
        stopped_in = time.monotonic() - began
    finally:
        if grader.poll() is None:
            grader.kill()
    output = grader.stdout.read().decode()
    assert code == 128 + signal.SIGTERM, output
    assert stopped_in < 10, stopped_in
    time.sleep(0.5)
    assert not [p for p in children if _alive(p)], output
    assert not list(temp.glob("coursekit-grade-*"))
    assert "interrupted by SIGTERM" in output and "run the same command again" in output
    rows = list(csv.DictReader((tmp_path / "out" / "grades.csv").open()))
    assert [r["student"] for r in rows[1:]] == ["not_json"]
