"""The ``coursekit`` command: maintain the notebooks and build the book.

coursekit sync [--check]           write book/ from solutions/ (or fail if book/ is stale)
coursekit execute [NOTEBOOK ...]   run notebooks in place, storing outputs (default: all)
coursekit book [--no-solutions] [--strict]
                                   build the website into _build/html
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]


def _root(path: str | None) -> Path:
    root = Path(path or ".").resolve()
    if not (root / "_config.yml").exists():
        raise SystemExit(f"coursekit: {root} is not the course's root (no _config.yml); use --root")
    return root


def _sync(args: argparse.Namespace) -> int:
    from coursekit.authoring import sync

    report = sync(_root(args.root), check=args.check)
    if args.check:
        if report.stale:
            print("stale (run `coursekit sync`):\n  " + "\n  ".join(map(str, report.stale)))
            return 1
        print(f"book/ is up to date with solutions/ ({len(report.checked)} notebooks)")
        return 0
    for path in report.stale:
        print(f"wrote {path}")
    print(f"{len(report.checked)} notebooks in sync; execute the rewritten ones with `coursekit execute`")
    return 0


def _execute(args: argparse.Namespace) -> int:
    from coursekit.authoring import execute_notebook

    root = _root(args.root)
    paths = [Path(p) for p in args.notebooks] or sorted((root / "solutions").glob("*.ipynb")) + sorted(
        (root / "book").glob("*.ipynb")
    )
    for path in paths:
        seconds = execute_notebook(path, timeout=args.timeout)
        print(f"{seconds:7.1f} s  {path}")
    return 0


def _book(args: argparse.Namespace) -> int:
    import yaml

    root = _root(args.root)
    if shutil.which("jupyter-book") is None:
        raise SystemExit("coursekit book: jupyter-book is not installed; run `make book` or pip install -e '.[book]'")
    command = ["jupyter-book", "build", str(root)]
    with tempfile.TemporaryDirectory() as tmp:
        if args.no_solutions:
            toc = yaml.safe_load((root / "_toc.yml").read_text())
            toc["parts"] = [p for p in toc.get("parts", []) if p.get("caption") != "Solutions"]
            toc_path = Path(tmp) / "_toc.yml"
            toc_path.write_text(yaml.safe_dump(toc, sort_keys=False))
            command += ["--toc", str(toc_path)]
        if args.strict:
            command += ["-W", "-n", "--keep-going"]
        if args.output:
            command += ["--path-output", args.output]
        result = subprocess.run(command)
    if result.returncode == 0:
        index = Path(args.output or root) / "_build" / "html" / "index.html"
        print(
            f"\nThe website is at {index}\nOpen it in a browser, or serve it: python -m http.server -d {index.parent}"
        )
    return result.returncode


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``coursekit`` console script."""
    parser = argparse.ArgumentParser(
        prog="coursekit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", help="the course's root folder (default: the current folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("sync", help="write book/ from solutions/")
    p.add_argument("--check", action="store_true", help="only check; exit 1 when book/ is stale")
    p.set_defaults(run=_sync)
    p = commands.add_parser("execute", help="execute notebooks in place")
    p.add_argument("notebooks", nargs="*")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    p.set_defaults(run=_execute)
    p = commands.add_parser("book", help="build the website")
    p.add_argument("--no-solutions", action="store_true", help="leave the Solutions part out")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--output", help="build into OUTPUT/_build instead of the root")
    p.set_defaults(run=_book)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
