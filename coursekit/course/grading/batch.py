r"""Grade a batch of submissions: find the notebooks, grade them in parallel, reuse cached results.

:func:`grade` is what ``coursekit grade PATH... --out DIR`` runs. Each submission is read
(:mod:`~coursekit.course.grading.submission`), its exercises run in child processes
(:mod:`~coursekit.course.grading.runner`), and its record (:mod:`~coursekit.course.grading.gradebook`) is
saved at once in ``DIR/.cache/<key>.json``, where the key hashes the submission's bytes, the
grader version (a hash of the grader's sources and of its chapter's checks and reference
modules, see :func:`grader_version`), the hidden tests and the limits.
A later run over the same folder reuses the record of every unchanged submission, and a run
that is interrupted keeps every submission it finished. Chapter: every (instructors' grading).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from coursekit.course.exercises import list_exercises
from coursekit.course.grading import sandbox
from coursekit.course.grading.assignment import EACH, default_solutions, infer_chapter, review_flags, solution_of
from coursekit.course.grading.gradebook import atomic_write, exercise_max, score, write_gradebook
from coursekit.course.grading.hidden import find_hidden_tests
from coursekit.course.grading.runner import Limits, run_exercises
from coursekit.course.grading.sandbox import Interrupted
from coursekit.course.grading.submission import Submission, read_submission

__all__ = ["GradeReport", "collect_submissions", "grade", "grader_version"]


def grader_version(chapter: str | None = None) -> str:
    """A hash of the grader's sources and, for a chapter, of its checks and references.

    Results are reused only under the same hash: editing the grader, the checks of a chapter or
    a reference function re-grades the submissions concerned, and only those.
    """
    import inspect

    from coursekit.course.exercises import get_exercise

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
    name and its path inside it (``book/01_sde_basics``). Names are made unique. Whatever
    ends in ``.ipynb`` is collected, folders and broken links included (each gets a status).
    """
    found: list[tuple[str, Path]] = []
    for given in map(Path, paths):
        if given.is_dir():
            for path in sorted(given.rglob("*.ipynb")):
                inside = path.relative_to(given)
                if ".ipynb_checkpoints" not in inside.parts and not any(p.suffix == ".ipynb" for p in inside.parents):
                    found.append((f"{given.resolve().name}/{inside.with_suffix('')}", path))
        elif given.exists() or given.is_symlink():
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
    from coursekit.course.exercises import get_exercise

    return get_exercise(exercise_id).chapter


@dataclass(frozen=True)
class GradeReport:
    """What :func:`grade` did.

    Attributes:
        records: The records written (only the finished ones after an interruption).
        reused: How many came from the cache.
        seconds: Wall time.
        chapter: The assignment's chapter (``None`` with ``chapter="each"``).
        isolation: ``"bubblewrap"`` or ``"guard"`` (see :mod:`~coursekit.course.grading.sandbox`).
        interrupted: The signal that stopped the run (``signal.SIGINT``, ``signal.SIGTERM``), or ``None``.
        not_graded: Submissions left ungraded by the interruption.
    """

    records: list[dict]
    reused: int
    seconds: float
    chapter: str | None = None
    isolation: str = "guard"
    interrupted: int | None = None
    not_graded: int = 0


def _broken(submission: Submission, error: BaseException) -> Submission:
    why = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:200] if str(error).strip() else ''}"
    return dataclasses.replace(submission, status="grader error", message=f"the grader failed on this file ({why})")


def grade(
    paths: list[str | Path],
    out: str | Path,
    *,
    jobs: int = 2,
    limits: Limits | None = None,
    hidden_tests: str | Path | None = None,
    chapter: str | None = None,
    solutions: str | Path | None = None,
    mode: int = 0o644,
    progress: Callable[[dict], None] | None = None,
) -> GradeReport:
    """Grade every submitted notebook and write the gradebook into ``out``.

    Ctrl-C or SIGTERM (when called from the main thread) kills every child within a fraction of a
    second, writes the gradebook of the submissions finished so far (all of them are cached) and
    returns with ``interrupted`` set; running again resumes from the cache.

    Args:
        paths: Notebooks, or folders searched recursively for ``*.ipynb``.
        out: Output folder: ``grades.csv``, ``grades.json``, ``feedback/``, ``.cache/``.
        jobs: Submissions graded at the same time (one child process each).
        limits: Time, memory and disk limits per child run, and the isolation (default ``Limits()``).
        hidden_tests: The instructor's hidden-test folder (see :mod:`coursekit.course.grading.hidden`).
        chapter: The assignment's chapter (others get ``"wrong chapter"``); ``None`` infers it
            (see :mod:`~coursekit.course.grading.assignment`); ``"each"`` grades each notebook
            as the chapter its exercises belong to.
        solutions: The folder of the instructor's solution notebooks, to flag copies
            (default: ``solutions/`` here or beside the package, when there is one).
        mode: Permission bits of the files written (default 0644).
        progress: Called with each record as it is finished.

    Returns:
        A :class:`GradeReport`.
    """
    start = time.perf_counter()
    out = Path(out)
    if chapter not in (None, EACH) and not list_exercises(chapter):
        known = sorted({c for c in map(_chapter_of, list_exercises())})
        raise ValueError(f"no exercises in chapter {chapter!r}; chapters with exercises: {', '.join(known)}")
    files, hidden = find_hidden_tests(hidden_tests)
    if limits is None:
        limits = Limits()
    limits = dataclasses.replace(limits, isolation=sandbox.isolation(limits.isolation))
    setup = {
        "hidden": hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in files)).hexdigest(),
        "limits": [limits.timeout_s, limits.memory_mb, limits.fsize_mb, limits.disk_mb, limits.isolation],
    }
    submissions = collect_submissions(paths)
    read: list[Submission] = []
    for _, path in submissions:
        try:
            read.append(read_submission(path))
        except Exception as error:  # noqa: BLE001  (the batch always finishes)
            read.append(_broken(Submission(Path(path), "", "ok"), error))
    assignment = None if chapter == EACH else chapter or infer_chapter(read)
    solutions = Path(solutions) if solutions is not None else default_solutions()
    references = {c: solution_of(solutions, c) for c in {s.chapter for s in read}}
    possible_of = {c: sum(exercise_max(e, hidden) for e in list_exercises(c)) for c in {*references, assignment} if c}
    reused = 0

    def one(student: str, path: Path, submission: Submission) -> dict:
        nonlocal reused
        began = time.perf_counter()
        found = submission.chapter
        if assignment is not None and submission.status == "ok" and found != assignment:
            message = f"this is a notebook of {found}, not of {assignment}"
            submission = dataclasses.replace(submission, status="wrong chapter", message=message, exercises={})
        version = grader_version(submission.chapter)
        graded_as = [submission.status, submission.chapter]
        key = {**setup, "as": graded_as, "grader": version, "sha256": submission.sha256}
        digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()
        cached = out / ".cache" / f"{digest[:32]}.json"
        if cached.exists() and submission.sha256:
            try:
                record = json.loads(cached.read_text(encoding="utf-8"))
                reused += 1
                record.update(student=student, file=str(path), cached=True)
                if progress:
                    progress(record)
                return record
            except ValueError:
                pass  # a damaged cache file: grade again
        reports = {}
        try:
            if submission.status == "ok":
                exercises = list(submission.exercises.values())
                reports = run_exercises(exercises, submission.preamble, hidden=[str(f) for f in files], limits=limits)
            record = score(submission, reports, hidden, student=student)
        except Exception as error:  # noqa: BLE001  (a grader bug on one file: that row says so)
            record = score(_broken(submission, error), {}, hidden, student=student)
        solution = references.get(submission.chapter) if submission.chapter is not None else None
        record["flags"] += review_flags(submission, solution)
        if submission.status == "wrong chapter":
            possible = possible_of.get(assignment) if assignment is not None else None
            record.update(max=possible, flags=["wrong chapter", *record["flags"]])
        record["seconds"] = round(time.perf_counter() - began, 2)
        record["grader_version"] = version
        record["isolation"] = limits.isolation if submission.status == "ok" else None
        grader_failed = any(str(e["message"]).startswith("grader error") for e in record["exercises"].values())
        if submission.sha256 and not grader_failed and record["status"] != "grader error":
            atomic_write(cached, json.dumps(record), mode)  # a failure of the grader itself is retried next run
        record["cached"] = False
        if progress:
            progress(record)
        return record

    done: dict[int, dict] = {}
    with _Stopper() as stop:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            items = enumerate(zip(submissions, read, strict=True))
            futures = {pool.submit(one, *item, sub): k for k, (item, sub) in items}
            pending = set(futures)
            try:
                while pending:
                    finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in finished:
                        done[futures[future]] = future.result()
            except Interrupted:
                sandbox.stop_all()
                pool.shutdown(wait=True, cancel_futures=True)
                for future, k in futures.items():
                    if future.done() and not future.cancelled() and future.exception() is None:
                        done[k] = future.result()
        stop.armed = False  # a signal from here on is remembered, not raised: the gradebook gets written
        records = [done[k] for k in sorted(done)]
        if assignment:
            chapters = [assignment]
        else:
            chapters = sorted({r["chapter"] for r in records if r["chapter"] and r["exercises"]})
        columns = [e for c in chapters for e in list_exercises(c)]
        write_gradebook(out, records, columns, {c: exercise_max(c, hidden) for c in columns}, mode=mode)
    return GradeReport(
        records, reused, time.perf_counter() - start, assignment, limits.isolation, stop.signum,
        len(submissions) - len(records),
    )  # fmt: skip


class _Stopper:
    """While grading in the main thread: SIGINT and SIGTERM raise :class:`Interrupted`, once."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.armed = True
        self.saved: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def __enter__(self) -> _Stopper:
        sandbox.stopping(reset=True)
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.saved[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        sandbox.stop_all()
        if self.signum is None:
            self.signum = signum
            if self.armed:
                raise Interrupted(signum)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)
