"""The library's layout keeps its architecture: imports run one way, modules stay small.

The rules (issue 14, DESIGN.md "Layout"):

- the mathematics (``sde``, ``density``, ``flows``, ``diffusion``, ``guidance``, ``manifolds``,
  ``data``, ``nn``, ``metrics``) never imports the drawing code (``viz``) or the tooling (``course``);
- the lower layers ``sde`` and ``density`` never import the flow, diffusion or guidance layers;
- no module imports a private name (``_grid``) of another module;
- the package root holds only ``__init__`` and the core helpers every layer uses;
- no module is longer than :data:`MAX_LINES` lines.

Each rule reads the sources with :mod:`ast`, so a violation names the file and the line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "coursekit"
MATHEMATICS = ("sde", "density", "flows", "diffusion", "guidance", "manifolds", "data", "nn", "metrics")
TOOLING = ("viz", "course")
LOWER = ("sde", "density")
UPPER = ("flows", "diffusion", "guidance")
ROOT_MODULES = {"__init__.py", "_choices.py", "_shapes.py", "rng.py"}
MAX_LINES = 300

SOURCES = sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """``(line, imported module, imported names)`` for every absolute import of coursekit in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("coursekit"):
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.startswith("coursekit")]
    return found


def _targets(module: str, names: list[str]) -> set[str]:
    """The coursekit modules or packages an import reaches (``from coursekit import viz`` reaches viz)."""
    reached = {module}
    for name in names:
        if (PACKAGE.parent / module.replace(".", "/") / name).is_dir() or (
            PACKAGE.parent / module.replace(".", "/") / f"{name}.py"
        ).is_file():
            reached.add(f"{module}.{name}")
    return reached


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else None


def _violations(forbidden: dict[str, tuple[str, ...]]) -> list[str]:
    found = []
    for path in SOURCES:
        layer = _layer(_name(path))
        if layer not in forbidden:
            continue
        for line, module, names in _imports(path):
            if any(_layer(target) in forbidden[layer] for target in _targets(module, names)):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module} {names}")
    return found


def test_the_mathematics_never_imports_drawing_or_tooling() -> None:
    assert not _violations({layer: TOOLING for layer in MATHEMATICS})


def test_the_lower_layers_never_import_the_upper_ones() -> None:
    assert not _violations({layer: UPPER for layer in LOWER})


def test_no_module_imports_a_private_name_of_another() -> None:
    found = []
    for path in SOURCES:
        for line, module, names in _imports(path):
            own_package = module.split(".")[-1].startswith("_") and module.count(".") == 1  # coursekit._shapes
            for name in names:
                if name.startswith("_") and not own_package and name != "__version__":
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}.{name}")
    assert not found


def test_the_package_root_holds_only_the_core_helpers() -> None:
    extra = {p.name for p in PACKAGE.glob("*.py")} - ROOT_MODULES
    assert not extra, f"modules at the root of coursekit/ that belong in a subpackage: {sorted(extra)}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)} has {lines} lines (at most {MAX_LINES}): split it"


def test_the_rules_catch_a_violation() -> None:
    """The checker itself: a forbidden import in a mathematics module is found."""
    bad = PACKAGE / "sde" / "_layout_probe.py"
    bad.write_text("from coursekit.viz import plotting\nfrom coursekit.flows.ode import integrate\n")
    try:
        SOURCES.append(bad)
        assert _violations({"sde": TOOLING}) == ["coursekit/sde/_layout_probe.py:1 imports coursekit.viz ['plotting']"]
        assert _violations({"sde": UPPER}) == [
            "coursekit/sde/_layout_probe.py:2 imports coursekit.flows.ode ['integrate']"
        ]
    finally:
        SOURCES.remove(bad)
        bad.unlink()
