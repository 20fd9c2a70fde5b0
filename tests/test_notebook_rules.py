"""Rules every chapter notebook keeps, so that it reads on the website and runs on Colab (all chapters).

* Every interactive explorer (``widgets.*_explorer(...)``) has a static counterpart right after
  it (an animation or a figure stored in the notebook), its own output is kept off the website,
  and a markdown cell next to it says that the live version needs Colab or Jupyter.
* A notebook reads no local file (the package ships or generates all its data), pins no device,
  and imports only what the package depends on, so it runs on Colab as it is.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from coursekit.course.authoring import read_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "book").glob("*.ipynb"))
IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]

EXPLORER = re.compile(r"\bwidgets\.\w+_explorer\(")
LIVE_NOTE = re.compile(r"\b(Colab|Jupyter)\b")
# A call that reads a file, with a literal path as its first argument.
FILE_READ = re.compile(
    r"\b(open|read_csv|read_json|read_parquet|read_table|read_pickle|load|loadtxt|genfromtxt|fromfile|imread|"
    r"read_text|read_bytes|read_notebook)\(\s*[rbfRBF]?(['\"])(?P<path>[^'\"]+)\2"
)
FILE_MAGIC = re.compile(r"^\s*(%run|%load|%cat|!cat|!cp)\s+(?P<path>\S+)", re.MULTILINE)
# Import names of the distributions the package depends on (pyproject's `dependencies`).
IMPORT_NAMES = {"scikit-learn": "sklearn", "ipython": "IPython", "pyyaml": "yaml", "pot": "ot"}


def _code(nb) -> list[tuple[int, str]]:
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def _has_static_output(cell) -> bool:
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "image/png" in data or "image/svg+xml" in data:
            return True
        if 'class="animation"' in "".join(data.get("text/html", "")):
            return True
    return False


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_explorer_has_a_static_counterpart_and_a_note(path):
    nb = read_notebook(path)
    for index, source in _code(nb):
        if not EXPLORER.search(source):
            continue
        name = EXPLORER.search(source).group(0)
        cell = nb.cells[index]
        tags = cell.metadata.get("tags", [])
        assert {"remove-output", "remove-cell"} & set(tags), f"{path.name}, cell {index}: tag {name} 'remove-output'"
        following = nb.cells[index + 1 : index + 3]
        statics = [c for c in following if c.cell_type == "code" and _has_static_output(c)]
        executed = any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
        assert statics, (
            f"{path.name}, cell {index}: {name}...) needs, within the next two cells, a cell whose stored "
            "output is an animation (animation.to_html) or a figure, for readers of the website"
            + ("" if executed else "; this notebook has no stored outputs at all: run `make notebooks`")
        )
        nearby = nb.cells[max(0, index - 2) : index + 4]
        notes = [c for c in nearby if c.cell_type == "markdown" and LIVE_NOTE.search(c.source)]
        assert notes, f"{path.name}, cell {index}: say by {name}...) that the live version runs on Colab or Jupyter"


def test_chapter_1_has_an_explorer():
    """The rule above is not vacuous: Chapter 1 has an explorer."""
    nb = read_notebook(ROOT / "solutions" / "01_sde_basics.ipynb")
    assert any(EXPLORER.search(source) for _, source in _code(nb))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_notebook_reads_a_local_file(path):
    found = []
    for index, source in _code(read_notebook(path)):
        for match in [*FILE_READ.finditer(source), *FILE_MAGIC.finditer(source)]:
            target = match.group("path")
            if not re.match(r"[a-z]+://", target):
                found.append(f"cell {index}: {match.group(0).strip()}")
    assert found == [], (
        f"{path.name} reads local files, which do not exist on Colab (generate the data, or ship it in "
        f"the package and load it with importlib.resources): {found}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_notebook_pins_a_device(path):
    """The device comes from ck.setup_notebook() (CUDA when there is one); nothing forces one."""
    pinned = re.compile(r"\.cuda\(|\.cpu\(\)\.cuda|torch\.device\(\s*['\"](cuda|cpu)|device\s*=\s*['\"](cuda|cpu)")
    found = [f"cell {i}: {m.group(0)}" for i, source in _code(read_notebook(path)) for m in pinned.finditer(source)]
    assert found == [], f"{path.name} pins a device: {found}; use the `device` returned by ck.setup_notebook()"


def _dependencies() -> set[str]:
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, flags=re.MULTILINE | re.DOTALL).group(1)
    names = {re.match(r"[A-Za-z0-9_.-]+", item).group(0).lower() for item in re.findall(r"['\"]([^'\"]+)['\"]", block)}
    return {IMPORT_NAMES.get(name, name.replace("-", "_")) for name in names}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebooks_import_only_what_the_package_installs(path):
    """On Colab the set-up cell installs coursekit and its dependencies; anything else would be missing."""
    allowed = _dependencies() | {"coursekit", "IPython", "ipywidgets"} | set(sys.stdlib_module_names)
    missing = set()
    for index, source in _code(read_notebook(path)):
        python = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(python)
        except SyntaxError:
            continue  # exercise stubs parse; anything else is caught by executing the notebook
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            missing |= {f"{m} (cell {index})" for m in modules if m.split(".")[0] not in allowed}
    assert not missing, f"{path.name} imports modules that coursekit does not depend on: {sorted(missing)}"


DISPLAY_MATH = re.compile(r"\$\$(.*?)\$\$", re.DOTALL)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_display_math_stands_in_its_own_paragraph(path):
    """``$$...$$`` needs a blank line before and after it: otherwise MyST reads the ``$$`` as two
    inline ``$`` and the page shows raw TeX (the browser test of the website finds it late)."""
    nb = read_notebook(path)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        text = cell.source
        for match in DISPLAY_MATH.finditer(text):
            before, after = text[: match.start()], text[match.end() :]
            alone = (before == "" or before.endswith("\n\n")) and (after == "" or after.startswith("\n\n"))
            assert alone, (
                f"{path.name}, markdown cell {index}: put a blank line before and after "
                f"$${match.group(1).strip()[:40]}...$$"
            )
