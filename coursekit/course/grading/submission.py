r"""A submitted notebook: read it, identify its chapter and exercises, extract the code to grade.

Nothing of the notebook is executed here. The grader reads the file as JSON, finds each
exercise of the chapter by its stable id (the cell metadata ``{"coursekit": {"exercise": id}}``
or nbgrader's ``grade_id``), and falls back to the function name when a student lost the
metadata, renamed the id, or split or duplicated the cell. Stored outputs are never read.

What a child process will run for an exercise (see :mod:`coursekit.course.grading.runner`):

* every cell carrying the exercise's id, whole, in notebook order (a cell split in two keeps
  both halves; a duplicated cell runs twice, so the last definition wins, as in the notebook);
* from any other cell that defines the exercise's function at top level, only its top-level
  ``def``, ``class`` and ``import`` statements: the training code around it never runs.

The preamble of the child comes from the notebook's top-level ``import`` statements of a few
trusted packages (``math``, ``torch``, ``numpy``, ``coursekit``...), plus
``import math, torch; import coursekit as ck``. Used by the ``coursekit grade`` command
(instructors; every chapter).
"""

from __future__ import annotations

import ast
import hashlib
import json
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from coursekit.course.exercises import get_exercise, list_exercises

__all__ = ["ExerciseCode", "Submission", "TRUSTED_IMPORTS", "read_submission"]

TRUSTED_IMPORTS = frozenset(
    {"math", "cmath", "torch", "numpy", "scipy", "coursekit", "functools", "itertools", "collections", "typing"}
)
_BASE_PREAMBLE = "import math\nimport torch\nimport coursekit as ck"
_EMPTY = hashlib.sha256(b"").hexdigest()
_MARKER = "### BEGIN SOLUTION"


@dataclass(frozen=True)
class ExerciseCode:
    """The code of one exercise found in a submission.

    Attributes:
        exercise_id: The stable id, e.g. ``"sde_solvers.euler_maruyama"``.
        function_name: The function the exercise asks for.
        source: Code to run (cells joined in notebook order).
        cells: Indices of the cells it came from.
        notes: What the grader noticed (metadata lost, duplicated cells...), for the feedback.
        parts: The code of each of those cells (run one after the other, each on its own).
        prints: A hash of each of those whole cells' syntax tree (comments and layout ignored),
            to recognise a copy of the instructor's solution.
    """

    exercise_id: str
    function_name: str
    source: str
    cells: tuple[int, ...]
    notes: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    prints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Submission:
    """A submitted notebook as the grader sees it.

    Attributes:
        path: The file.
        sha256: Hash of its bytes (the cache key of its results).
        status: ``"ok"``, ``"invalid"`` (not JSON, not a notebook), ``"unreadable"`` (e.g. a
            broken link), ``"not a notebook"`` (a folder), ``"unknown chapter"``,
            ``"wrong chapter"`` or ``"no exercises"``.
        message: Why, when the status is not ``"ok"``.
        chapter: The chapter (notebook stem such as ``"01_sde_basics"``), or ``None``.
        exercises: The exercises found, by id.
        missing: Exercise ids of the chapter that were not found (each a message).
        preamble: Trusted import statements the child runs before any exercise.
        markers: Whether an exercise cell still carries ``### BEGIN SOLUTION`` (a solution copy).
    """

    path: Path
    sha256: str
    status: str
    message: str = ""
    chapter: str | None = None
    exercises: dict[str, ExerciseCode] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    preamble: str = _BASE_PREAMBLE
    markers: bool = False


def _without_magics(source: str) -> str:
    """The cell with each IPython magic line (``%...``, ``!...``) replaced by ``pass``."""
    lines = []
    for line in source.splitlines():
        body = line.lstrip()
        lines.append(line[: len(line) - len(body)] + "pass  # " + body if body.startswith(("%", "!")) else line)
    return "\n".join(lines)


def _parse(source: str) -> ast.Module | None:
    """Parse a cell without its IPython magics; ``None`` on a syntax error."""
    try:
        return ast.parse(_without_magics(source))
    except (SyntaxError, ValueError):
        return None


def _print(tree: ast.Module | None) -> str:
    """A hash of a cell's syntax tree: equal for two cells that differ only in comments and layout."""
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:16] if tree is not None else ""


def _defines(tree: ast.Module | None) -> set[str]:
    if tree is None:
        return set()
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _definitions_only(source: str, tree: ast.Module) -> str:
    """The top-level ``def``, ``class`` and ``import`` statements of a cell, nothing else."""
    kept = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    lines = source.splitlines()
    parts = []
    for node in tree.body:
        if isinstance(node, kept):
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            parts.append("\n".join(lines[start - 1 : node.end_lineno]))
    return "\n\n".join(parts)


def _trusted_imports(trees: list[ast.Module | None]) -> str:
    statements = [_BASE_PREAMBLE]
    for tree in trees:
        for node in tree.body if tree else []:
            if isinstance(node, ast.Import) and all(a.name.split(".")[0] in TRUSTED_IMPORTS for a in node.names):
                statements.append(ast.unparse(node))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.split(".")[0] in TRUSTED_IMPORTS and all(a.name != "*" for a in node.names):
                    statements.append(ast.unparse(node))
    return "\n".join(dict.fromkeys(statements))


def _cell_id(cell: dict) -> str | None:
    metadata = cell.get("metadata", {})
    exercise_id = metadata.get("coursekit", {}).get("exercise") if isinstance(metadata, dict) else None
    if not exercise_id and isinstance(metadata, dict):
        exercise_id = metadata.get("nbgrader", {}).get("grade_id")
    return exercise_id if isinstance(exercise_id, str) else None


def _detect_chapter(ids: list[str], defined: set[str]) -> str | None:
    votes: Counter[str] = Counter()
    known = set(list_exercises())
    for exercise_id in ids:
        if exercise_id in known:
            votes[get_exercise(exercise_id).chapter] += 2
    for exercise_id in known:
        if get_exercise(exercise_id).function_name in defined:
            votes[get_exercise(exercise_id).chapter] += 1
    return votes.most_common(1)[0][0] if votes else None


def read_submission(path: str | Path, *, chapter: str | None = None) -> Submission:
    """Read a submitted notebook and find the code of each exercise, without running anything.

    Args:
        path: The notebook file.
        chapter: The chapter every submission must be (e.g. ``"01_sde_basics"``); ``None``
            grades each notebook as the chapter its exercises belong to.

    Returns:
        A :class:`Submission`; a bad file gives a status other than ``"ok"``, never an exception.
    """
    path = Path(path)
    if path.is_dir():
        return Submission(path, _EMPTY, "not a notebook", "a folder whose name ends in .ipynb, not a notebook file")
    try:
        data = path.read_bytes()
    except OSError as error:  # the message names no path: it goes into the student's feedback
        why = "a broken link" if path.is_symlink() else error.strerror or type(error).__name__
        return Submission(path, _EMPTY, "unreadable", f"the file cannot be read ({why})")
    digest = hashlib.sha256(data).hexdigest()
    try:
        json.loads(data)
    except RecursionError:
        return Submission(path, digest, "invalid", "not a notebook: JSON nested too deeply to read")
    except (ValueError, UnicodeDecodeError) as error:
        return Submission(path, digest, "invalid", f"not valid JSON ({type(error).__name__}: {error})")
    try:
        with warnings.catch_warnings():  # e.g. duplicate cell ids, which nbformat repairs
            warnings.simplefilter("ignore")
            nb = nbformat.reads(data.decode(), as_version=4)
        cells = list(nb.cells)
    except Exception as error:  # nbformat raises several types for JSON that is not a notebook
        text = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        return Submission(path, digest, "invalid", f"not a Jupyter notebook ({type(error).__name__}: {text})")
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code" and isinstance(c.get("source"), str)]
    trees = {i: _parse(c["source"]) for i, c in code}
    ids = [cid for _, c in code if (cid := _cell_id(c))]
    defined = set().union(*(_defines(t) for t in trees.values())) if trees else set()
    found = _detect_chapter(ids, defined)
    if found is None:
        if ids:
            return Submission(
                path, digest, "unknown chapter", f"its exercises ({', '.join(ids)}) are not exercises of this course"
            )
        return Submission(path, digest, "no exercises", "no exercise cell or exercise function found")
    if chapter is not None and found != chapter:
        return Submission(path, digest, "wrong chapter", f"this is a notebook of {found}, not of {chapter}", found)
    exercises: dict[str, ExerciseCode] = {}
    missing: dict[str, str] = {}
    markers = False
    for exercise_id in list_exercises(found):
        name = get_exercise(exercise_id).function_name
        tagged = [i for i, c in code if _cell_id(c) == exercise_id]
        by_name = [i for i, _ in code if name in _defines(trees[i])]
        notes = []
        if not tagged and by_name:
            notes.append(f"no cell has the id {exercise_id!r} (metadata lost or renamed): found {name} by its name")
        if len(set(tagged) | set(by_name)) > 1:
            where = ", ".join(map(str, sorted(set(tagged) | set(by_name))))
            notes.append(
                f"the exercise spans or is duplicated in cells {where}; each runs on its own, in order, "
                f"and the last {name} is graded"
            )
        if not by_name:
            missing[exercise_id] = (
                f"the exercise cell is there but defines no function {name}"
                if tagged
                else f"no exercise cell with id {exercise_id!r} and no function {name} found"
            )
            continue
        chosen = sorted(set(tagged) | set(by_name))
        parts = []
        for i in chosen:
            source = cells[i]["source"]
            tree = trees[i]
            plain = _without_magics(source)
            parts.append(plain if i in tagged or tree is None else _definitions_only(plain, tree))
            markers = markers or _MARKER in source
        prints = tuple(_print(trees[i]) for i in chosen)
        exercises[exercise_id] = ExerciseCode(
            exercise_id, name, "\n\n".join(parts), tuple(chosen), tuple(notes), tuple(parts), prints
        )
    return Submission(
        path, digest, "ok", "", found, exercises, missing, _trusted_imports([trees[i] for i, _ in code]), markers
    )
