"""Lint and type checks of the library (issue 14, section 4): ruff and mypy, clean.

ruff checks pyflakes, pycodestyle, bugbear, the import order and the docstring rules configured in
``pyproject.toml`` on ``coursekit/`` and ``tests/``, and their formatting (``ruff format --check``);
mypy checks the library's annotations.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed next to {sys.executable}: `pip install -e '.[test]'`")
    return found


def test_ruff_is_clean() -> None:
    ruff = _tool("ruff")
    result = subprocess.run([ruff, "check", "coursekit", "tests"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr
    # the formatting too (line length 120, from pyproject.toml): `ruff format coursekit tests` fixes it
    result = subprocess.run([ruff, "format", "--check", "coursekit", "tests"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    result = subprocess.run([_tool("mypy"), "coursekit"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr
