r"""Sphinx extension for the book's API pages (book/api/, written by ``_ext/api_pages.py``).

**Math.** The docstrings write math as the notebooks do (MyST's dollar math, STYLE.md 3.7), but autodoc
reads them as reStructuredText, where a dollar is a dollar. Before napoleon reads a docstring's
Google-style sections, each ``$...$`` outside literals (````...````, ```...```) and doctest lines
becomes ``:math:`...```, and each display ``$$ ... $$`` (on its own lines, one or several)
becomes a ``.. math::`` block at the same indentation. MathJax then typesets them like the
chapters' formulas, from the copy served with the site.

**Summary tables.** ``.. api-summary:: coursekit.sde`` makes, for each module below the package,
an autosummary table of the public names (``__all__``) the module defines, in that module's
context, so the short cross-references of the one-line summaries (``:func:`integrate```) resolve
as they do in the module's own docstrings.

**Modules.** ``.. api-module:: coursekit.sde.processes`` documents a module: its docstring and the
public members (``__all__``) it defines, by ``automodule``; the names it re-exports from another
module are left to that module's entry, and the constants of ``__all__`` without a docstring
(``DATASETS``) get an entry with their value, so that references to them resolve.

**Re-exported names.** A reference to a name that a module re-exports (``:class:`SamplerOutput```
in :mod:`coursekit.diffusion.samplers`, ``:func:`coursekit.metrics.data_floor```) resolves, as
Python resolves the name, to the entry where the object is defined. A name that Python cannot
find stays unresolved, and the nitpicky build reports it.

**Usage screens.** The module docstrings of :data:`LITERAL_DOCSTRINGS` are plain-text usage
screens, not reStructuredText: they are shown as literal blocks below their first line.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

LITERAL_DOCSTRINGS = {"coursekit.course.cli"}  # the `coursekit` command's usage screen

# Literal text that keeps its dollars: ``code``, `interpreted text` (roles included).
_LITERAL = re.compile(r"(``.+?``|:[\w:.+-]+:`[^`]*`|`[^`]*`)")
# $...$ with no space inside the delimiters ($x$, $\log p(x)$), not $$ and not an escaped \$.
# (a formula may run over a line break of its paragraph, not over a blank line)
_INLINE = re.compile(r"(?<![\\$])\$(?![\s$])((?:[^$\n]|\n(?![ \t]*\n))+?)(?<![\s\\$])\$(?!\$)")
_START = re.compile(r"[\s'\"(\[{<\-/:]")  # what may stand before an inline role (docutils rules)
_END = re.compile(r"[\s'\")\]}>\-/:.,;!?\\]")  # what may follow one


def _role(text: str, match: re.Match) -> str:
    before = text[match.start() - 1] if match.start() > 0 else " "
    after = text[match.end()] if match.end() < len(text) else " "
    body = match.group(1)
    # "\ " is an escaped, invisible space: it lets a role touch a word ("points$^2$", "$x$-axis").
    return f"{'' if _START.match(before) else chr(92) + ' '}:math:`{body}`{'' if _END.match(after) else chr(92) + ' '}"


def inline_math(text: str) -> str:
    """Replace the ``$...$`` of ``text`` (lines of prose), outside literals, by ``:math:`` roles."""
    parts = _LITERAL.split(text)
    for i in range(0, len(parts), 2):  # even parts lie outside literals
        parts[i] = _INLINE.sub(lambda m, p=parts[i]: _role(p, m), parts[i])
    return "".join(parts)


def convert(lines: list[str]) -> list[str]:
    """Return the docstring ``lines`` with dollar math turned into reStructuredText math."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("$$"):
            indent = line[: len(line) - len(line.lstrip())]
            body = stripped[2:]
            while not body.rstrip().endswith("$$") and i + 1 < len(lines):
                i += 1
                body += "\n" + lines[i].strip()
            body = body.rstrip()[:-2] if body.rstrip().endswith("$$") else body
            if out and out[-1].strip():
                out.append("")
            out += [f"{indent}.. math::", ""]
            out += [f"{indent}   {part}" for part in body.strip().splitlines() if part.strip()]
            out.append("")
            if i + 1 < len(lines) and not lines[i + 1].strip():
                i += 1  # the blank line after the block is already there
        else:
            out.append(line)
        i += 1
    # Inline math, over runs of prose lines (doctest lines keep their dollars).
    result: list[str] = []
    prose: list[str] = []
    for line in [*out, None]:
        if line is not None and not line.strip().startswith((">>>", "... ")):
            prose.append(line)
            continue
        if prose:
            result += inline_math("\n".join(prose)).split("\n")
            prose = []
        if line is not None:
            result.append(line)
    return result


def _process_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    own = "\n".join(lines).strip()
    if what in ("data", "attribute") and own and own == inspect.cleandoc(type(obj).__doc__ or "").strip():
        lines.clear()  # a constant without a docstring shows its type's (dict(**kwargs) -> ...)
        return
    if what == "module" and name in LITERAL_DOCSTRINGS and len(lines) > 1:
        lines[:] = [lines[0], "", "::", "", *(f"    {line}" for line in lines[1:])]
        return
    lines[:] = convert(lines)


def public_modules(package: str) -> list[str]:
    """Every public module below ``package`` (recursively, sorted), without ``__main__`` modules.

    A module that is not a package stands for itself: ``public_modules("coursekit.rng")`` is
    ``["coursekit.rng"]``.
    """
    path = getattr(importlib.import_module(package), "__path__", None)
    if path is None:
        return [package]
    found = []
    for info in pkgutil.walk_packages(path, prefix=f"{package}."):
        leaf = info.name.rsplit(".", 1)[-1]
        if not leaf.startswith("_"):
            found.append(info.name)
    return sorted(found)


def defined_here(module: str, name: str) -> bool:
    """Whether ``module.name`` is defined in ``module`` (not re-exported from another module)."""
    obj = getattr(importlib.import_module(module), name)
    home = getattr(obj, "__module__", None) if callable(obj) or isinstance(obj, type) else None
    return home is None or home == module


def _undocumented_constants(module: str) -> list[str]:
    """The names of ``module.__all__`` defined there that are data without a ``#:`` or string doc."""
    from sphinx.pycode import ModuleAnalyzer

    mod = importlib.import_module(module)
    documented = {name for (scope, name) in ModuleAnalyzer.for_module(module).find_attr_docs() if scope == ""}
    return [
        n
        for n in getattr(mod, "__all__", [])
        if n not in documented
        and not (callable(getattr(mod, n)) or isinstance(getattr(mod, n), type))
        and not isinstance(getattr(mod, n), type(importlib))
        and defined_here(module, n)
    ]


class ApiModule(SphinxDirective):
    """``.. api-module:: MODULE``: the module's docstring and the public members it defines."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module = self.arguments[0]
        exported = getattr(importlib.import_module(module), "__all__", [])
        lines = [f".. automodule:: {module}", "   :members:", "   :show-inheritance:"]
        imported = sorted(n for n in exported if not defined_here(module, n))
        if imported:  # documented where they are defined (re-exported here for the notebooks)
            lines.append(f"   :exclude-members: {', '.join(imported)}")
        lines.append("")
        for name in _undocumented_constants(module):
            lines += [f".. autodata:: {name}", ""]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=f"<api-module {module}>"), self.content_offset, container)
        return container.children


class ApiSummary(SphinxDirective):
    """``.. api-summary:: PACKAGE``: one autosummary table per module below ``PACKAGE``."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        package = self.arguments[0]
        here = self.env.ref_context.get("py:module") or package
        lines: list[str] = []
        for module in public_modules(package):
            names = [n for n in getattr(importlib.import_module(module), "__all__", []) if defined_here(module, n)]
            if names:
                lines += [f".. rubric:: :mod:`{module}`", "", f".. currentmodule:: {module}", ""]
                lines += [".. autosummary::", "   :nosignatures:", "", *(f"   {n}" for n in names), ""]
        lines += [f".. currentmodule:: {here}", ""]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=f"<api-summary {package}>"), self.content_offset, container)
        return container.children


def definition(name: str) -> str | None:
    """The full name of the entry defining the coursekit object ``name``, when Python finds it elsewhere.

    ``definition("coursekit.metrics.data_floor")`` is ``"coursekit.metrics.floors.data_floor"``;
    ``None`` when ``name`` is not a coursekit object, is found where it is named, or is data
    (which carries no ``__module__``).
    """
    parts = name.split(".")
    if parts[0] != "coursekit":
        return None
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
            break
        except ImportError:
            continue
    else:
        return None
    for i in range(cut, len(parts)):
        obj = getattr(obj, parts[i], None)
        if obj is None:
            return None
        home, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if isinstance(home, str) and isinstance(qualname, str) and home.startswith("coursekit"):
            real = ".".join([home, qualname, *parts[i + 1 :]])
            return real if real != name else None
    return None


def _resolve_reexport(app, env, node, contnode):
    if node.get("refdomain") != "py" or "reftarget" not in node:
        return None
    target, module, cls = node["reftarget"].lstrip("~."), node.get("py:module"), node.get("py:class")
    candidates = [f"{module}.{cls}.{target}"] if module and cls else []
    candidates += [f"{module}.{target}"] if module else []
    for name in [*candidates, target]:
        real = definition(name)
        if real is not None:
            domain = env.get_domain("py")
            found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], real, node, contnode)
            if found is not None:
                return found
    return None


def setup(app):
    app.connect("missing-reference", _resolve_reexport)
    app.add_directive("api-summary", ApiSummary)
    app.add_directive("api-module", ApiModule)
    # Before napoleon (priority 500), so its Args/Returns sections carry the converted lines.
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
