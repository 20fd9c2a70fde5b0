"""The website builds with no warning (warnings are errors), with and without the Solutions part."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.cli import jupyter_book_executable

pytestmark = pytest.mark.slow


def _build(root: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    if jupyter_book_executable() is None:
        pytest.skip("jupyter-book is not installed (pip install -e '.[book]')")
    command = [
        sys.executable,
        "-m",
        "coursekit.cli",
        "--root",
        str(root),
        "book",
        "--strict",
        "--output",
        str(out),
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


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


def test_book_without_solutions(root, tmp_path):
    result = _build(root, tmp_path, "--no-solutions")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = tmp_path / "_build" / "html"
    assert (html / "book" / "01_sde_basics.html").exists()
    assert not (html / "solutions").exists()
    assert "solutions/01_sde_basics" not in (html / "index.html").read_text()
