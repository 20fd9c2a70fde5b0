"""Write the book's API reference pages, book/api/*.md, from the package (maintainers' tool).

One page per subpackage of ``coursekit`` (and one for the package root): the subpackage's
docstring, a summary table per module (``.. api-summary::`` of ``_ext/api_docs.py``, built on
``sphinx.ext.autosummary``), then every module's docstring and public members (``__all__``),
rendered by ``sphinx.ext.autodoc`` (Google-style sections by ``sphinx.ext.napoleon``, ``$...$``
math by ``_ext/api_docs.py``). The pages list modules, not members, so they change only when a
module is added or removed; ``tests/test_book_build.py`` fails when they are out of date.

    python _ext/api_pages.py          # rewrite book/api/*.md
    python _ext/api_pages.py --check  # exit 1 when a page would change
"""

from __future__ import annotations

import sys
from pathlib import Path

from api_docs import public_modules

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "book" / "api"
# The subpackages in the order of the course (DESIGN.md "Layout"), then drawing and tooling.
SUBPACKAGES = ("sde", "density", "flows", "diffusion", "guidance", "manifolds", "data", "nn", "metrics", "viz", "course")


def page(package: str, title: str, modules: list[str], summary: str | None = None) -> str:
    """The MyST source of the API page of ``package``, documenting ``modules``."""
    out = [
        "% Written by _ext/api_pages.py from the package: edit the docstrings, not this page.",
        "",
        f"# {title}",
        "",
        "```{eval-rst}",
        f".. automodule:: {package}",
        "   :no-members:",
        "",
        f".. api-summary:: {summary or package}",
        "```",
        "",
    ]
    for module in modules:
        out += [f"## `{module}`", "", "```{eval-rst}", f".. api-module:: {module}", "```", ""]
    return "\n".join(out)


def pages() -> dict[Path, str]:
    """Every API page: ``book/api/<subpackage>.md`` and ``book/api/core.md`` for the package root."""
    sys.path.insert(0, str(ROOT))
    out = {API / "core.md": page("coursekit", "`coursekit`: the package root", ["coursekit.rng"], "coursekit.rng")}
    for name in SUBPACKAGES:
        package = f"coursekit.{name}"
        out[API / f"{name}.md"] = page(package, f"`{package}`", public_modules(package))
    return out


def main(argv: list[str]) -> int:
    stale = []
    for path, text in pages().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if "--check" not in argv:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    for path in stale:
        print(f"{'out of date' if '--check' in argv else 'wrote'}: {path.relative_to(ROOT)}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
