r"""The instructor's hidden tests: a folder of Python files, read by the grader without running them.

Format. Every ``*.py`` file of the folder (not recursive) may define, at top level, functions
named after an exercise id with its dots replaced by underscores::

    def test_sde_solvers_euler_maruyama(fn):             # for "sde_solvers.euler_maruyama"
        ...
    def test_sde_solvers_euler_maruyama__zero_noise(fn):  # more tests: add "__<anything>"
        ...

Each test receives the student's function and fails by raising (``assert`` is fine); it is worth
1 point, or ``POINTS[name]`` when the file defines a literal dict ``POINTS = {"test_...": 2}``.
The tests run like the checks of :mod:`coursekit.course.exercises`: in the grading child with a
recorder in place of the student's function, then in the grader, which replays the recorded outputs
and takes the verdict (:mod:`~coursekit.course.grading.verdict`); ``torch``'s global RNG is forked
and seeded per test, so a test's inputs must come from seeds. The feedback names a failed hidden
test but never shows its code or message. Chapter: every (instructors' grading).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HiddenTest", "find_hidden_tests", "hidden_key", "tests_for"]


@dataclass(frozen=True)
class HiddenTest:
    """One hidden test: its function name, its file and its points."""

    name: str
    path: Path
    points: int = 1


def hidden_key(exercise_id: str) -> str:
    """The name of an exercise's hidden test: ``"sde.f"`` -> ``"test_sde_f"``."""
    return "test_" + exercise_id.replace(".", "_")


def find_hidden_tests(folder: str | Path | None) -> tuple[list[Path], list[HiddenTest]]:
    """The hidden-test files of a folder and the tests they define (read, not run).

    Args:
        folder: The folder, or ``None`` for no hidden tests.

    Returns:
        ``(files, tests)``.

    Raises:
        ValueError: When the folder does not exist, a file is not valid Python, or two tests
            have the same name.
    """
    if folder is None:
        return [], []
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"hidden tests: {folder} is not a folder")
    files = sorted(p.resolve() for p in folder.glob("*.py"))
    tests: list[HiddenTest] = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(), filename=str(path))
        except SyntaxError as error:
            raise ValueError(f"hidden tests: {path} line {error.lineno}: {error.msg}") from None
        points: dict = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "POINTS" for t in node.targets):
                points = ast.literal_eval(node.value)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                tests.append(HiddenTest(node.name, path, int(points.get(node.name, 1))))
    names = [t.name for t in tests]
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"hidden tests: {', '.join(twice)} defined more than once")
    return files, tests


def tests_for(exercise_id: str, tests: list[HiddenTest]) -> list[HiddenTest]:
    """The hidden tests of one exercise."""
    key = hidden_key(exercise_id)
    return [t for t in tests if t.name == key or t.name.startswith(key + "__")]
