"""The exercise pipeline: ``solutions/`` is the source, ``book/`` is generated (all chapters).

An exercise is a code cell with the tag ``exercise`` and the metadata
``{"coursekit": {"exercise": "<id>"}}`` (mirrored into nbgrader's ``grade_id``), whose solution
sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines. The student version
replaces each such block by ``raise NotImplementedError()`` (nbgrader's convention), keeping the
signature, the docstring and any given lines around the block.

The first code cell of every notebook (tag ``colab-setup``) is written from one template with
the repository URL read from ``_config.yml``, so the URL lives in one place.

Functions here are used by the ``coursekit sync`` and ``coursekit execute`` commands and by
the test that fails when ``book/`` is stale.
"""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = [
    "BEGIN",
    "END",
    "SyncReport",
    "colab_setup_source",
    "execute_notebook",
    "exercise_cells",
    "read_notebook",
    "repository_url",
    "strip_solutions",
    "student_notebook",
    "sync",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_MARKDOWN_STUB = "YOUR ANSWER HERE"


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook, with an error that names the file when it is not valid JSON or not a notebook."""
    path = Path(path)
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several types for bad files
        raise ValueError(f"{path} is not a valid Jupyter notebook: {type(error).__name__}: {error}") from None


def strip_solutions(source: str, cell_type: str = "code", where: str = "cell") -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block by a stub.

    Args:
        source: The cell's source.
        cell_type: ``"code"`` (stub: ``raise NotImplementedError()`` at the block's indentation)
            or ``"markdown"`` (stub: ``YOUR ANSWER HERE``).
        where: Names the cell in error messages.

    Returns:
        The student's source.

    Raises:
        ValueError: On a BEGIN without END, an END without BEGIN, or nested blocks.
    """
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{where}, line {number}: nested '{BEGIN}'")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            stub = _CODE_STUB if cell_type == "code" else _MARKDOWN_STUB
            out.extend(indent + s for s in stub.splitlines())
        elif stripped == END:
            if not inside:
                raise ValueError(f"{where}, line {number}: '{END}' without '{BEGIN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out)


def exercise_cells(nb: nbformat.NotebookNode) -> dict[str, int]:
    """Map each exercise id of a notebook to the index of its cell."""
    found: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        exercise_id = cell.get("metadata", {}).get("coursekit", {}).get("exercise")
        if exercise_id:
            if exercise_id in found:
                raise ValueError(f"exercise id {exercise_id!r} is used by cells {found[exercise_id]} and {index}")
            found[exercise_id] = index
    return found


def repository_url(root: str | Path) -> str:
    """The repository URL from ``_config.yml`` (``repository: url:``), the one place it is set."""
    text = (Path(root) / "_config.yml").read_text()
    match = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)", text, flags=re.MULTILINE)
    if not match:
        raise ValueError(f"{Path(root) / '_config.yml'} has no 'repository: url:' entry")
    return match.group(1).strip("'\"")


def colab_setup_source(url: str, version: str | None = None) -> str:
    """The first code cell of every chapter: install coursekit when missing, then set up.

    The cell installs the release the notebook was written for, ``git+URL@vVERSION`` (the tag of
    ``version``, default: this coursekit's ``__version__``, written by ``coursekit sync``), so that an
    old student copy keeps the library it was written against after later renames. When the install
    fails (no network, the URL or the tag unreachable) the cell stops with one sentence that says
    what to do, instead of pip's git error followed by a ``ModuleNotFoundError`` cells later.

    Args:
        url: The repository URL (``repository: url:`` in ``_config.yml``).
        version: The release to pin; default: the installed coursekit's version.

    Returns:
        The cell's source.
    """
    if version is None:
        from coursekit import __version__ as version
    return (
        "# Set-up: where coursekit is missing (Colab) this installs the version this chapter was written for.\n"
        f'COURSEKIT = "coursekit @ git+{url}@v{version}"\n'
        "try:\n"
        "    import coursekit\n"
        "except ImportError:\n"
        "    import subprocess, sys\n"
        "\n"
        '    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", COURSEKIT], '
        "capture_output=True, text=True)\n"
        "    if pip.returncode != 0:\n"
        "        raise SystemExit(\n"
        '            f"Could not install {COURSEKIT} (no network, or the repository or tag is unreachable): "\n'
        '            "connect to the internet, or install coursekit yourself (pip install -e . in a clone), '
        'then re-run this cell."\n'
        "        )\n"
        "import coursekit as ck\n"
        "\n"
        "device = ck.setup_notebook(seed=0)"
    )


def _with_setup_cell(nb: nbformat.NotebookNode, url: str | None) -> nbformat.NotebookNode:
    if url is None:
        return nb
    for cell in nb.cells:
        if "colab-setup" in cell.get("metadata", {}).get("tags", []):
            cell.source = colab_setup_source(url)
    return nb


def student_notebook(nb: nbformat.NotebookNode, *, where: str = "notebook") -> nbformat.NotebookNode:
    """The student version of a solution notebook: solutions stubbed, outputs cleared.

    Args:
        nb: The solution notebook.
        where: Names the notebook in error messages.

    Returns:
        A new notebook; ``nb`` is not modified.
    """
    exercise_cells(nb)  # validates that ids are unique
    student = copy.deepcopy(nb)
    for index, cell in enumerate(student.cells):
        if BEGIN in cell.source or END in cell.source:
            cell.source = strip_solutions(cell.source, cell.cell_type, where=f"{where}, cell {index}")
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return student


def _signature(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...], str]]:
    """What must agree between book and solutions: cell types, sources, tags, exercise ids."""
    return [
        (
            c.cell_type,
            c.source,
            tuple(c.get("metadata", {}).get("tags", [])),
            str(c.get("metadata", {}).get("coursekit", {})),
        )
        for c in nb.cells
    ]


@dataclass(frozen=True)
class SyncReport:
    """Which notebooks :func:`sync` found stale (and rewrote, unless it only checked)."""

    stale: tuple[Path, ...]
    checked: tuple[Path, ...]


def sync(root: str | Path, *, check: bool = False) -> SyncReport:
    """Write ``book/NAME.ipynb`` from ``solutions/NAME.ipynb`` for every solution notebook.

    Args:
        root: Repository root (holds ``_config.yml``, ``book/``, ``solutions/``).
        check: Only report stale notebooks, write nothing.

    Returns:
        A :class:`SyncReport`. A book notebook whose cells already match keeps its outputs.
    """
    root = Path(root)
    url = repository_url(root)
    stale: list[Path] = []
    checked: list[Path] = []
    for solution_path in sorted((root / "solutions").glob("*.ipynb")):
        solution = read_notebook(solution_path)
        fixed = _with_setup_cell(copy.deepcopy(solution), url)
        if _signature(fixed) != _signature(solution):
            stale.append(solution_path)
            if not check:
                nbformat.write(fixed, solution_path)
        book_path = root / "book" / solution_path.name
        expected = student_notebook(fixed, where=str(solution_path))
        checked.append(book_path)
        current = read_notebook(book_path) if book_path.exists() else None
        if current is None or _signature(current) != _signature(expected):
            stale.append(book_path)
            if not check:
                nbformat.write(expected, book_path)
    return SyncReport(tuple(stale), tuple(checked))


def execute_notebook(
    path: str | Path, *, timeout: int = 600, kernel_name: str = "python3", store: bool = True
) -> float:
    """Execute a notebook (in place, storing its outputs) and return the wall time in seconds.

    Execution metadata (timestamps) and saved widget state are removed, so that re-running
    changes only real outputs and the website needs no widget scripts.

    Args:
        path: The notebook; its folder is the kernel's working directory.
        timeout: Seconds allowed per cell.
        kernel_name: The Jupyter kernel to run it with.
        store: Write the outputs back into ``path``. ``False`` only runs it (a GPU run: its
            outputs differ from the stored CPU ones, which nbval compares).

    Returns:
        Seconds from the first cell to the end of the last.

    Raises:
        nbclient.exceptions.CellExecutionError: If a cell raises.
    """
    from nbclient import NotebookClient

    path = Path(path)
    nb = read_notebook(path)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=timeout, kernel_name=kernel_name, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    elapsed = time.perf_counter() - start
    if not store:
        return elapsed
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    # Widget views need a kernel; their saved state would only make the website load widget
    # scripts from a CDN. The website shows a static animation next to each explorer instead.
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return elapsed
