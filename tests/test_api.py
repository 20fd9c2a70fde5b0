"""Public API: every name in every __all__ resolves and is documented; the console script exists."""

import importlib
import pkgutil
import subprocess
import sys

import pytest

import coursekit

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(coursekit.__path__, "coursekit.")
    if not name.split(".")[-1].startswith("_")
)


@pytest.mark.parametrize("module_name", MODULES)
def test_all_resolves_and_is_documented(module_name):
    module = importlib.import_module(module_name)
    assert module.__doc__, f"{module_name} has no module docstring"
    assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    for name in module.__all__:
        obj = getattr(module, name)  # raises if __all__ names something missing
        if callable(obj) and not isinstance(obj, type(sys)):
            assert obj.__doc__, f"{module_name}.{name} has no docstring"


def test_top_level_names_resolve():
    for name in coursekit.__all__:
        getattr(coursekit, name)


def test_cli_sync_check_passes_on_the_repository(root):
    result = subprocess.run(
        [sys.executable, "-m", "coursekit.course.cli", "--root", str(root), "sync", "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_cli_refuses_a_folder_that_is_not_the_course(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "coursekit.course.cli", "--root", str(tmp_path), "sync"], capture_output=True, text=True
    )
    assert result.returncode != 0 and "no _config.yml" in result.stderr
