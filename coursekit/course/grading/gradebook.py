r"""The gradebook: points from the children's reports, ``grades.csv``, ``grades.json``, feedback.

Points are computed here, in the grader's process, from the names of the checks a child says
passed, looked up in :mod:`coursekit.course.exercises` (and the hidden tests' own points): a child can
make its function look right, but cannot award itself points that do not exist. An exercise
that timed out, crashed, was missing, raised while defined, tampered with the grader or did
something forbidden scores 0; the others keep their points.

Every file is written atomically (a temporary file in the same folder, then ``os.replace``), so
an interrupted run leaves the previous gradebook whole, with mode 0644 unless told otherwise.
Feedback files keep the student's name (Unicode; only characters no file system accepts are
replaced), made unique, and no path of the instructor's machine appears in them. Chapter: every
(instructors' grading).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from coursekit.course.exercises import get_exercise
from coursekit.course.grading.hidden import HiddenTest, tests_for
from coursekit.course.grading.submission import Submission

__all__ = ["NORMAL", "POSSIBLE", "REVIEW", "atomic_write", "feedback", "feedback_names", "score", "write_gradebook"]

NORMAL = ("passed", "failed", "not done")  # exercise statuses of code that ran and was checked
ZERO = ("missing", "error", "timeout", "disk", "crashed", "tampered", "forbidden")
POSSIBLE = "(points possible)"


def atomic_write(path: str | Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a part.

    Args:
        path: The file.
        text: Its content (written as UTF-8).
        mode: Its permission bits (default 0644: readable by the instructor's group).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False, encoding="utf-8"
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def exercise_max(exercise_id: str, hidden: list[HiddenTest]) -> int:
    """Points possible of an exercise: its checks and its hidden tests."""
    return get_exercise(exercise_id).points + sum(t.points for t in tests_for(exercise_id, hidden))


def _score_exercise(exercise_id: str, report: dict, hidden: list[HiddenTest], notes: tuple[str, ...]) -> dict:
    checks_by_name = {c.name: c for c in get_exercise(exercise_id).checks}
    status = str(report.get("status", "crashed"))
    passed = set(report.get("passed", [])) if status not in ZERO else set()
    failed = {str(f[0]): str(f[1]) for f in report.get("failed", []) if isinstance(f, (list, tuple)) and len(f) == 2}
    checks = [
        {
            "name": name,
            "points": check.points if name in passed else 0,
            "max_points": check.points,
            "passed": name in passed,
            "message": "" if name in passed else failed.get(name, "not run"),
        }
        for name, check in checks_by_name.items()
    ]
    hidden_passed = set(report.get("hidden_passed", [])) if status not in ZERO else set()
    hidden_rows = [
        {
            "name": t.name,
            "points": t.points if t.name in hidden_passed else 0,
            "max_points": t.points,
            "passed": t.name in hidden_passed,
        }
        for t in tests_for(exercise_id, hidden)
    ]
    points = sum(c.points for name, c in checks_by_name.items() if name in passed)
    points += sum(t.points for t in tests_for(exercise_id, hidden) if t.name in hidden_passed)
    flags = ["calls the library's reference"] if report.get("calls_reference") else []
    printed = int(report.get("printed", 0) or 0)
    extra = list(notes) + [str(n)[:500] for n in report.get("notes", []) if isinstance(n, str)][:5]
    extra += [f"printed {printed:,} characters (not shown)"] if printed > 100_000 else []
    return {
        "status": status,
        "points": points,
        "max_points": exercise_max(exercise_id, hidden),
        "message": str(report.get("message", "")),
        "checks": checks,
        "hidden": hidden_rows,
        "notes": extra,
        "flags": flags,
    }


def score(submission: Submission, reports: dict[str, dict], hidden: list[HiddenTest], *, student: str) -> dict:
    """The gradebook record of one submission.

    Args:
        submission: What :func:`~coursekit.course.grading.submission.read_submission` found.
        reports: The child's report per exercise id (from :func:`~coursekit.course.grading.runner.run_exercises`).
        hidden: The hidden tests.
        student: The submission's name in the gradebook.

    Returns:
        A JSON-ready dict: ``student``, ``file``, ``sha256``, ``chapter``, ``status``,
        ``message``, ``exercises`` (per id: status, points, checks, hidden tests, notes, flags),
        ``total``, ``max`` (``None`` when the chapter is unknown), ``flags``.
    """
    record: dict[str, Any] = {
        "student": student,
        "file": str(submission.path),
        "sha256": submission.sha256,
        "chapter": submission.chapter,
        "status": submission.status,
        "message": submission.message,
        "exercises": {},
        "total": 0,
        "max": None,
        "flags": [],
    }
    if submission.status != "ok" or submission.chapter is None:
        return record
    from coursekit.course.exercises import list_exercises

    for exercise_id in list_exercises(submission.chapter):
        code = submission.exercises.get(exercise_id)
        if code is None:
            report = {"status": "missing", "message": submission.missing.get(exercise_id, "not found")}
            record["exercises"][exercise_id] = _score_exercise(exercise_id, report, hidden, ())
        else:
            report = reports.get(exercise_id, {"status": "crashed", "message": "no result"})
            record["exercises"][exercise_id] = _score_exercise(exercise_id, report, hidden, code.notes)
    exercises = record["exercises"]
    record["total"] = sum(e["points"] for e in exercises.values())
    record["max"] = sum(e["max_points"] for e in exercises.values())
    record["flags"] = [i for i, e in exercises.items() if e["flags"]]
    abnormal = sorted({e["status"] for e in exercises.values() if e["status"] not in NORMAL})
    record["status"] = "+".join(abnormal) if abnormal else "ok"
    problems = [f"{i}: {e['status']}" for i, e in exercises.items() if e["status"] not in NORMAL]
    record["message"] = "; ".join(problems)
    return record


def _redact(text: str) -> str:
    """``text`` without the instructor's paths: the course, Python, the home folder, temporary folders."""
    import coursekit

    course = str(Path(coursekit.__file__).resolve().parents[1])
    for prefix, name in sorted(
        [(sys.prefix, "<python>"), (course, "<course>"), (str(Path.home()), "~"), (os.getcwd(), ".")],
        key=lambda p: -len(p[0]),
    ):
        if len(prefix) > 1:
            text = text.replace(prefix, name)
    return re.sub(r"\S*coursekit-grade-[A-Za-z0-9_]+", "<working folder>", text)


def feedback(record: dict) -> str:
    """The feedback file of one student (Markdown): every lost point explained, no instructor path."""
    return _redact(_feedback(record))


def _feedback(record: dict) -> str:
    total, most = record["total"], record.get("max")
    lines = [f"# Feedback: {record['student']}", "", f"File: `{Path(record['file']).name}`"]
    if record.get("chapter"):
        lines.append(f"Chapter: {record['chapter']}")
    lines += ["", f"**Total: {total} / {most if most is not None else '?'}**", ""]
    if record["status"] not in ("ok",) and not record["exercises"]:
        lines += [f"This submission could not be graded: {record['status']}: {record['message']}.", ""]
    lines += [f"Flag: {f}." for f in record.get("flags", []) if f in REVIEW] + [""] * bool(
        set(record.get("flags", [])) & set(REVIEW)
    )
    for exercise_id, e in record["exercises"].items():
        lines += [f"## {exercise_id}: {e['points']} / {e['max_points']} ({e['status']})", ""]
        if e["message"]:
            lines += [e["message"], ""]
        for c in e["checks"]:
            mark = "passed" if c["passed"] else f"lost {c['max_points']}: {c['message']}"
            lines.append(f"- check '{c['name']}': {mark}")
        for h in e["hidden"]:
            mark = "passed" if h["passed"] else f"lost {h['max_points']}"
            lines.append(f"- hidden test '{h['name']}': {mark}")
        lines += [f"- note: {n}" for n in e["notes"]]
        lines += [f"- flag: {f}: the exercise asks you to write it yourself" for f in e["flags"]]
        lines.append("")
    return "\n".join(lines)


REVIEW = ("wrong chapter", "solution copy", "solution markers")  # flags of a whole submission


def _file_name(student: str) -> str:
    r"""The student's name as a file name: Unicode kept (NFC), only ``/ \\ : * ? " < > |`` and controls replaced."""
    name = unicodedata.normalize("NFC", student).replace("/", "__")
    name = "".join("_" if c in '\\:*?"<>|' or unicodedata.category(c).startswith("C") else c for c in name)
    return name.strip(" .")[:200] or "submission"


def feedback_names(students: list[str]) -> list[str]:
    """One feedback file name per student, unique even where names differ only by case or by ``/``."""
    seen: set[str] = set()
    names = []
    for student in students:
        base = _file_name(student)
        name, k = base, 1
        while name.casefold() in seen:
            k += 1
            name = f"{base} ({k})"
        seen.add(name.casefold())
        names.append(f"{name}.md")
    return names


def write_gradebook(
    out: str | Path, records: list[dict], columns: list[str], possible: dict[str, int], *, mode: int = 0o644
) -> None:
    """Write ``grades.csv``, ``grades.json`` and ``feedback/<student>.md`` into ``out``, atomically.

    Args:
        out: The output folder.
        records: One record per submission (from :func:`score`).
        columns: Exercise ids, one CSV column each.
        possible: Points possible per exercise id.
        mode: Permission bits of every file written.
    """
    out = Path(out)
    total_possible = sum(possible[c] for c in columns)
    rows = []
    for r in records:
        most = r["max"] if r["max"] is not None else total_possible
        percent = round(100.0 * r["total"] / most, 1) if most else 0.0
        rows.append({**r, "max": most, "percent": percent})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "file", *columns, "total", "max", "percent", "status", "flags", "message"])
    writer.writerow([POSSIBLE, "", *(possible[c] for c in columns), total_possible, total_possible, 100.0, "", "", ""])
    for r in rows:
        points = [r["exercises"][c]["points"] if c in r["exercises"] else "" for c in columns]
        writer.writerow(
            [
                r["student"],
                r["file"],
                *points,
                r["total"],
                r["max"],
                r["percent"],
                r["status"],
                "; ".join(r["flags"]),
                r["message"],
            ]
        )
    document = {"columns": columns, "points_possible": possible, "submissions": rows}
    names = feedback_names([r["student"] for r in rows])
    for r, name in zip(rows, names, strict=True):
        r["feedback"] = f"feedback/{name}"
    atomic_write(out / "grades.json", json.dumps(document, indent=1, ensure_ascii=False), mode)
    atomic_write(out / "grades.csv", buffer.getvalue(), mode)
    for r, name in zip(rows, names, strict=True):
        atomic_write(out / "feedback" / name, feedback(r), mode)
