"""The exercise pipeline: solution stripping, book/ in sync with solutions/, the set-up cell, bad notebooks."""

import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from coursekit.course.authoring import (
    BEGIN,
    END,
    colab_setup_source,
    exercise_cells,
    read_notebook,
    repository_url,
    strip_solutions,
    student_notebook,
    sync,
)
from coursekit.course.exercises import get_exercise, list_exercises


def test_strip_keeps_indentation_and_given_lines():
    source = f"def f(x):\n    y = x\n    {BEGIN}\n    return y + 1\n    {END}\n"
    assert strip_solutions(source) == "def f(x):\n    y = x\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert strip_solutions(f"{BEGIN}\nsecret\n{END}", "markdown") == "YOUR ANSWER HERE"


@pytest.mark.parametrize(
    "source, message",
    [(f"{BEGIN}\nx", "never closed"), (f"x\n{END}", "without"), (f"{BEGIN}\n{BEGIN}\n{END}", "nested")],
)
def test_unbalanced_markers_are_named(source, message):
    with pytest.raises(ValueError, match=message):
        strip_solutions(source, where="nb.ipynb, cell 3")


def test_book_is_in_sync_with_solutions(root):
    report = sync(root, check=True)
    assert report.checked, "no notebooks found"
    assert report.stale == (), f"stale: {report.stale}; run `coursekit sync` (or `make sync`)"


def test_sync_detects_and_repairs_a_stale_book(root, tmp_path):
    for name in ("_config.yml", "solutions", "book"):
        src = root / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    solution = next((tmp_path / "solutions").glob("*.ipynb"))
    nb = read_notebook(solution)
    nb.cells[0].source += "\n"  # the first markdown cell
    nbformat.write(nb, solution)
    assert sync(tmp_path, check=True).stale == (tmp_path / "book" / solution.name,)
    sync(tmp_path)
    assert sync(tmp_path, check=True).stale == ()


def _notebooks(root, folder):
    return sorted((root / folder).glob("*.ipynb"))


def test_every_exercise_is_registered_and_self_checked(root):
    for path in _notebooks(root, "solutions"):
        nb = read_notebook(path)
        found = exercise_cells(nb)
        chapter = path.stem
        assert list(found) == list_exercises(chapter), f"{path.name}: exercises {list(found)}"
        for exercise_id, index in found.items():
            following = nb.cells[index + 1]
            assert re.search(rf'ck\.check\(\s*"{re.escape(exercise_id)}"', following.source), (
                f"{path.name}: no self-check after {exercise_id}"
            )
            assert "nbval-check-output" in following.metadata.get("tags", [])
            assert f"def {get_exercise(exercise_id).function_name}(" in nb.cells[index].source
            assert nb.cells[index].metadata["nbgrader"]["grade_id"] == exercise_id


def test_book_has_no_solutions_and_stored_checks_say_not_done(root):
    for path in _notebooks(root, "book"):
        text = path.read_text()
        assert BEGIN not in text and END not in text
        nb = read_notebook(path)
        for exercise_id, index in exercise_cells(nb).items():
            output = "".join(o.get("text", "") for o in nb.cells[index + 1].outputs)
            assert output.startswith(f"[not done yet] {exercise_id}"), f"{path.name}: {output!r}"


def test_solutions_stored_checks_pass(root):
    for path in _notebooks(root, "solutions"):
        nb = read_notebook(path)
        for exercise_id, index in exercise_cells(nb).items():
            output = "".join(o.get("text", "") for o in nb.cells[index + 1].outputs)
            assert output.startswith(f"[passed] {exercise_id}"), f"{path.name}: {output!r}"


def test_first_code_cell_installs_from_the_configured_repository(root):
    url = repository_url(root)
    assert url.startswith("https://")
    for path in _notebooks(root, "solutions") + _notebooks(root, "book"):
        first = next(c for c in read_notebook(path).cells if c.cell_type == "code")
        assert "colab-setup" in first.metadata.get("tags", [])
        assert f"git+{url}" in first.source and "ck.setup_notebook(" in first.source
        assert not re.search(r"torch[=<>]|numpy[=<>]", first.source), "never pin torch or numpy on Colab"


def test_first_code_cell_pins_the_version_it_was_written_for(root):
    import coursekit

    for path in _notebooks(root, "solutions") + _notebooks(root, "book"):
        first = next(c for c in read_notebook(path).cells if c.cell_type == "code")
        assert f'@v{coursekit.__version__}"' in first.source, f"{path.name}: run `coursekit sync`"


def test_a_failed_install_stops_with_one_clear_sentence(tmp_path):
    """No network or an unreachable repository: the cell says what to do instead of pip's git error."""
    source = colab_setup_source(f"file://{tmp_path}/no-such-repository", "0.0.0")
    install = source.split("import coursekit as ck")[0].replace(
        "    import coursekit\n", "    import coursekit_absent\n"
    )
    result = subprocess.run([sys.executable, "-c", install], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Could not install coursekit @ git+file://" in result.stderr and "re-run this cell" in result.stderr
    assert "Traceback" not in result.stderr


def test_student_notebook_clears_outputs(root):
    nb = read_notebook(_notebooks(root, "solutions")[0])
    student = student_notebook(nb)
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "the input must not be modified"


def test_invalid_notebooks_get_a_clear_error(tmp_path):
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{ not json")
    with pytest.raises(ValueError, match="broken.ipynb is not a valid Jupyter notebook"):
        read_notebook(bad)
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="not a valid Jupyter notebook"):
        read_notebook(bad)


def test_duplicate_exercise_ids_are_refused():
    nb = nbformat.v4.new_notebook()
    for _ in range(2):
        cell = nbformat.v4.new_code_cell("def f(): pass")
        cell.metadata["coursekit"] = {"exercise": "x.f"}
        nb.cells.append(cell)
    with pytest.raises(ValueError, match="'x.f' is used by cells 0 and 1"):
        exercise_cells(nb)
