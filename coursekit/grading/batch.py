r"""Grade a batch of submissions: find the notebooks, grade them in parallel, reuse cached results.

:func:`grade` is what ``coursekit grade PATH... --out DIR`` runs. Each submission is read
(:mod:`~coursekit.grading.submission`), its exercises run in child processes
(:mod:`~coursekit.grading.runner`), and its record (:mod:`~coursekit.grading.gradebook`) is
saved at once in ``DIR/.cache/<key>.json``, where the key hashes the submission's bytes, the
grader version (a hash of the grader's sources and of its chapter's checks and reference
modules, see :func:`grader_version`), the hidden tests and the limits.
A later run over the same folder reuses the record of every unchanged submission, and a run
that is interrupted keeps every submission it finished. Chapter: every (instructors' grading).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from coursekit.exercises import list_exercises
from coursekit.grading.gradebook import atomic_write, exercise_max, score, write_gradebook
from coursekit.grading.hidden import find_hidden_tests
from coursekit.grading.runner import Limits, run_exercises
from coursekit.grading.submission import read_submission

__all__ = ["GradeReport", "collect_submissions", "grade", "grader_version"]


def grader_version(chapter: str | None = None) -> str:
    """A hash of the grader's sources and, for a chapter, of its checks and references.

    Results are reused only under the same hash: editing the grader, the checks of a chapter or
    a reference function re-grades the submissions concerned, and only those.
    """
    import inspect

    from coursekit.exercises import get_exercise

    package = Path(__file__).resolve().parents[1]
    files = {*package.joinpath("grading").glob("*.py"), package / "exercises" / "__init__.py"}
    for exercise_id in list_exercises(chapter) if chapter else []:
        exercise = get_exercise(exercise_id)
        for obj in (exercise.reference, *(c.run for c in exercise.checks)):
            source = inspect.getsourcefile(inspect.unwrap(obj))
            if source:
                files.add(Path(source).resolve())
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def collect_submissions(paths: list[str | Path]) -> list[tuple[str, Path]]:
    """``(student, file)`` for every notebook given or found (recursively) in a given folder.

    A file given directly is named by its stem; a notebook found in a folder by the folder's
    name and its path inside it (``book/01_sde_basics``). Names are made unique.
    """
    found: list[tuple[str, Path]] = []
    for given in map(Path, paths):
        if given.is_dir():
            for path in sorted(given.rglob("*.ipynb")):
                if ".ipynb_checkpoints" not in path.parts:
                    found.append((f"{given.resolve().name}/{path.relative_to(given).with_suffix('')}", path))
        elif given.exists():
            found.append((given.stem, given))
        else:
            raise FileNotFoundError(f"coursekit grade: {given} does not exist")
    seen: dict[str, int] = {}
    unique = []
    for student, path in found:
        seen[student] = seen.get(student, 0) + 1
        unique.append((student if seen[student] == 1 else f"{student}-{seen[student]}", path))
    return unique


def _chapter_of(exercise_id: str) -> str:
    from coursekit.exercises import get_exercise

    return get_exercise(exercise_id).chapter


@dataclass(frozen=True)
class GradeReport:
    """What :func:`grade` did: the records written, how many were reused from the cache, seconds."""

    records: list[dict]
    reused: int
    seconds: float


def grade(
    paths: list[str | Path],
    out: str | Path,
    *,
    jobs: int = 2,
    limits: Limits = Limits(),
    hidden_tests: str | Path | None = None,
    chapter: str | None = None,
    progress: Callable[[dict], None] | None = None,
) -> GradeReport:
    """Grade every submitted notebook and write the gradebook into ``out``.

    Args:
        paths: Notebooks, or folders searched recursively for ``*.ipynb``.
        out: Output folder: ``grades.csv``, ``grades.json``, ``feedback/``, ``.cache/``.
        jobs: Submissions graded at the same time (one child process each).
        limits: Time and memory limits per child run.
        hidden_tests: The instructor's hidden-test folder (see :mod:`coursekit.grading.hidden`).
        chapter: Grade every notebook as this chapter (others get ``"wrong chapter"``);
            ``None`` grades each as the chapter its exercises belong to.
        progress: Called with each record as it is finished.

    Returns:
        A :class:`GradeReport`.
    """
    start = time.perf_counter()
    out = Path(out)
    if chapter is not None and not list_exercises(chapter):
        known = sorted({c for c in map(_chapter_of, list_exercises())})
        raise ValueError(f"no exercises in chapter {chapter!r}; chapters with exercises: {', '.join(known)}")
    files, hidden = find_hidden_tests(hidden_tests)
    setup = {
        "hidden": hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in files)).hexdigest(),
        "chapter": chapter,
        "limits": [limits.timeout_s, limits.memory_mb, limits.fsize_mb],
    }
    submissions = collect_submissions(paths)
    reused = 0

    def one(item: tuple[str, Path]) -> dict:
        nonlocal reused
        student, path = item
        began = time.perf_counter()
        submission = read_submission(path, chapter=chapter)
        version = grader_version(submission.chapter)
        key = hashlib.sha256(json.dumps({**setup, "grader": version, "sha256": submission.sha256}).encode())
        cached = out / ".cache" / f"{key.hexdigest()[:32]}.json"
        if cached.exists():
            try:
                record = json.loads(cached.read_text())
                reused += 1
                record.update(student=student, file=str(path), cached=True)
                if progress:
                    progress(record)
                return record
            except ValueError:
                pass  # a damaged cache file: grade again
        reports = {}
        if submission.status == "ok":
            exercises = list(submission.exercises.values())
            reports = run_exercises(exercises, submission.preamble, hidden=[str(f) for f in files], limits=limits)
        record = score(submission, reports, hidden, student=student)
        record["seconds"] = round(time.perf_counter() - began, 2)
        record["grader_version"] = version
        atomic_write(cached, json.dumps(record))
        record["cached"] = False
        if progress:
            progress(record)
        return record

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        records = list(pool.map(one, submissions))
    chapters = [chapter] if chapter else sorted({r["chapter"] for r in records if r["chapter"] and r["exercises"]})
    columns = [e for c in chapters for e in list_exercises(c)]
    write_gradebook(out, records, columns, {c: exercise_max(c, hidden) for c in columns})
    return GradeReport(records, reused, time.perf_counter() - start)
