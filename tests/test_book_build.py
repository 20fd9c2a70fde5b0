"""The website builds with no warning (warnings are errors), with and without the Solutions part.

The strict build is nitpicky: every cross-reference resolves, those of the library's docstrings
on the API pages (book/api/, the part "Library reference") included.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from coursekit.course.cli import jupyter_book_executable

ROOT = Path(__file__).resolve().parents[1]


def _build(root: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    if jupyter_book_executable() is None:
        pytest.skip("jupyter-book is not installed (pip install -e '.[book]')")
    command = [
        sys.executable,
        "-m",
        "coursekit.course.cli",
        "--root",
        str(root),
        "book",
        "--strict",
        "--output",
        str(out),
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_api_pages_are_up_to_date():
    """book/api/*.md are what `python _ext/api_pages.py` writes: one page per subpackage, every module."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "_ext" / "api_pages.py"), "--check"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"run `python _ext/api_pages.py`:\n{result.stdout}{result.stderr[-2000:]}"


def test_api_pages_are_a_part_of_the_toc_that_survives_no_solutions():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = {p["caption"]: [c["file"] for c in p["chapters"]] for p in toc["parts"]}
    pages = sorted(f"book/api/{p.stem}" for p in (ROOT / "book" / "api").glob("*.md"))
    assert sorted(parts["Library reference"]) == pages and len(pages) == 12  # 11 subpackages and the root
    assert all(
        not f.startswith("book/api/")
        for caption, files in parts.items()
        if caption != "Library reference"
        for f in files
    )


@pytest.mark.slow
def test_book_builds_without_warnings(root, tmp_path):
    result = _build(root, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = tmp_path / "_build" / "html"
    assert (html / "index.html").exists()
    chapter = (html / "book" / "01_sde_basics.html").read_text()
    assert "colab.research.google.com/github/" in chapter and "book/01_sde_basics.ipynb" in chapter
    assert "<script" in chapter and "anim" in chapter  # the JavaScript animation player is in the page
    assert (html / "solutions" / "01_sde_basics.html").exists()
    bibliography = (html / "book" / "bibliography.html").read_text()
    assert "Kloeden" in bibliography and "Song" in bibliography
    assert "_build/html/index.html" in result.stdout
    # The API pages: rendered docstrings (napoleon sections, typeset math), links between them.
    api = (html / "book" / "api" / "sde.html").read_text()
    assert 'id="coursekit.sde.solvers.euler_maruyama"' in api and "Parameters" in api
    assert '<span class="math notranslate nohighlight">' in api and "$$" not in api
    assert 'href="sde.html#coursekit.sde.processes.SDE"' in (html / "book" / "api" / "diffusion.html").read_text()
    assert (html / "py-modindex.html").exists()


@pytest.mark.slow
def test_book_without_solutions(root, tmp_path):
    result = _build(root, tmp_path, "--no-solutions")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = tmp_path / "_build" / "html"
    assert (html / "book" / "01_sde_basics.html").exists()
    assert not (html / "solutions").exists()
    assert "solutions/01_sde_basics" not in (html / "index.html").read_text()
    assert (html / "book" / "api" / "sde.html").exists()  # the Library reference stays
