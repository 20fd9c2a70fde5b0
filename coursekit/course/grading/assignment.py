r"""The assignment of a batch: its chapter, and the instructor's solution a submission may copy.

The chapter is ``--chapter`` when given; else the chapter most submissions' exercises belong to;
else (a tie, or no submission recognised) the chapter most file names start with. A submission
of another chapter gets the status ``"wrong chapter"`` (0 points, flagged). ``"each"`` grades
every notebook as its own chapter (a mixed folder, such as the course's own tests).

A submission is flagged ``"solution markers"`` when an exercise cell still carries
``### BEGIN SOLUTION`` (the student copies never do), and ``"solution copy"`` when its bytes
are the solution notebook's, or every exercise's cells have the same syntax tree (comments and
layout ignored) as the solution's. Chapter: every (instructors' grading).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from coursekit.course.exercises import get_exercise, list_exercises
from coursekit.course.grading.submission import Submission, read_submission

__all__ = ["EACH", "default_solutions", "infer_chapter", "review_flags", "solution_of"]

EACH = "each"


def _chapters() -> list[str]:
    return sorted({get_exercise(e).chapter for e in list_exercises()})


def infer_chapter(submissions: list[Submission]) -> str | None:
    """The chapter of the assignment: the most common among the submissions, else from file names."""
    votes = Counter(s.chapter for s in submissions if s.chapter is not None)
    ranked = votes.most_common()
    names = Counter(c for s in submissions for c in _chapters() if s.path.name.startswith(c))
    if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
        return ranked[0][0]
    tied = [c for c, n in ranked if n == ranked[0][1]] if ranked else _chapters()
    best = max(tied, key=lambda c: (names[c], -tied.index(c)), default=None)
    return best if best is not None and (ranked or names[best]) else None


def default_solutions() -> Path | None:
    """The course's ``solutions/`` folder: in the current folder, else beside the package."""
    import coursekit

    for folder in (Path.cwd() / "solutions", Path(coursekit.__file__).resolve().parents[1] / "solutions"):
        if folder.is_dir():
            return folder
    return None


def solution_of(folder: Path | None, chapter: str | None) -> Submission | None:
    """The instructor's solution notebook of a chapter, read like a submission (or ``None``)."""
    if folder is None or chapter is None or not (Path(folder) / f"{chapter}.ipynb").is_file():
        return None
    solution = read_submission(Path(folder) / f"{chapter}.ipynb")
    return solution if solution.status == "ok" else None


def review_flags(submission: Submission, solution: Submission | None) -> list[str]:
    """``"solution markers"`` and ``"solution copy"`` where they apply."""
    flags = ["solution markers"] if submission.markers else []
    if solution is None or submission.status != "ok" or submission.chapter != solution.chapter:
        return flags
    same_bytes = submission.sha256 == solution.sha256
    every = bool(solution.exercises) and all(
        exercise_id in submission.exercises and set(submission.exercises[exercise_id].prints) & set(code.prints)
        for exercise_id, code in solution.exercises.items()
    )
    return flags + (["solution copy"] if same_bytes or every else [])
