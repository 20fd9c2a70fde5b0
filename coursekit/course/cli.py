"""The ``coursekit`` command: maintain the notebooks and build the book.

coursekit sync [--check]           write book/ from solutions/ (or fail if book/ is stale)
coursekit execute [NOTEBOOK ...]   run notebooks in place, storing outputs (default: all)
          [--no-store] [--device D] [--report JSON]
                                   (GPU run: --device cuda --no-store --report artifacts/gpu_times.json)
coursekit book [--no-solutions] [--strict]
                                   build the website into _build/html
coursekit reference {run,list,show} ...
                                   the chapters' reference experiments (see coursekit.course.reference)
coursekit grade PATH... --out DIR [--jobs N] [--timeout S] [--memory MB] [--disk MB] [--hidden-tests DIR]
          [--chapter C|each] [--isolation auto|bubblewrap|guard] [--solutions DIR] [--file-mode 644]
                                   grade submitted notebooks: DIR/grades.csv, grades.json, feedback/
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["jupyter_book_executable", "main"]


def _root(path: str | None) -> Path:
    root = Path(path or ".").resolve()
    if not (root / "_config.yml").exists():
        raise SystemExit(f"coursekit: {root} is not the course's root (no _config.yml); use --root")
    return root


def _sync(args: argparse.Namespace) -> int:
    from coursekit.course.authoring import sync

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
    import json
    import os
    import platform

    import torch

    from coursekit.course.authoring import execute_notebook
    from coursekit.course.notebook import DEVICE_ENV, default_device

    root = _root(args.root)
    paths = [Path(p) for p in args.notebooks] or sorted((root / "solutions").glob("*.ipynb")) + sorted(
        (root / "book").glob("*.ipynb")
    )
    if args.device:
        os.environ[DEVICE_ENV] = args.device  # the kernels inherit it: ck.setup_notebook() picks it up
    try:
        device = default_device()
    except ValueError as error:
        raise SystemExit(f"coursekit execute: {error}") from None
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    print(f"device: {device} ({where}); outputs {'stored' if not args.no_store else 'not stored'}")
    runs: list[dict[str, Any]] = []
    for path in paths:
        try:
            seconds = execute_notebook(path, timeout=args.timeout, store=not args.no_store)
        except Exception as error:  # a failing cell (nbclient's CellExecutionError), a dead kernel, a timeout
            message = str(error).strip().splitlines()
            runs.append({"notebook": str(path), "seconds": None, "ok": False, "error": "\n".join(message[-15:])})
            print(f"FAILED     {path}: {type(error).__name__}: {message[-1] if message else ''}")
            continue
        runs.append({"notebook": str(path), "seconds": round(seconds, 2), "ok": True, "error": None})
        print(f"{seconds:7.1f} s  {path}")
    failed = [r["notebook"] for r in runs if not r["ok"]]
    total = sum(r["seconds"] or 0.0 for r in runs)
    print(f"{total:7.1f} s  in all, {len(runs) - len(failed)} of {len(runs)} notebooks ran")
    if args.report:
        report = {
            "device": str(device),
            "device_name": where,
            "torch": torch.__version__,
            "stored_outputs": not args.no_store,
            "total_seconds": round(total, 2),
            "notebooks": runs,
        }
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
        print(f"report: {args.report}")
    return 1 if failed else 0


def jupyter_book_executable() -> str | None:
    """The ``jupyter-book`` command: on the PATH, or next to this Python (a venv that is not activated)."""
    beside = Path(sys.executable).parent / "jupyter-book"
    return shutil.which("jupyter-book") or (str(beside) if beside.exists() else None)


def _book(args: argparse.Namespace) -> int:
    import yaml

    root = _root(args.root)
    executable = jupyter_book_executable()
    if executable is None:
        raise SystemExit("coursekit book: jupyter-book is not installed; run `make book` or pip install -e '.[book]'")
    command = [executable, "build", str(root)]
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


def _grade(args: argparse.Namespace) -> int:
    import signal

    from coursekit.course.grading import Limits, grade
    from coursekit.course.grading.sandbox import isolation

    def progress(record: dict) -> None:
        seconds = "cached" if record.get("cached") else f"{record.get('seconds', 0):.1f} s"
        most = record["max"] if record["max"] is not None else "-"
        print(f"{record['total']:>4}/{most:<4} {record['status']:<16} {seconds:>8}  {record['student']}", flush=True)

    try:
        mode = int(args.file_mode, 8)
        limits = Limits(
            timeout_s=args.timeout, memory_mb=args.memory, disk_mb=args.disk, isolation=isolation(args.isolation)
        )
        print(f"isolation: {limits.isolation}" + ("" if limits.isolation == "bubblewrap" else
              " (bubblewrap not available: the child's own guard only)"), flush=True)  # fmt: skip
        report = grade(
            args.paths,
            args.out,
            jobs=args.jobs,
            limits=limits,
            hidden_tests=args.hidden_tests,
            chapter=args.chapter,
            solutions=args.solutions,
            mode=mode,
            progress=progress,
        )
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"coursekit grade: {error}") from None
    out = Path(args.out)
    chapter = f" as {report.chapter}" if report.chapter else ""
    print(
        f"graded {len(report.records)} submissions{chapter} ({report.reused} reused from the cache) in "
        f"{report.seconds:.1f} s, isolation {report.isolation}; "
        f"gradebook: {out / 'grades.csv'}, {out / 'grades.json'}, feedback in {out / 'feedback'}"
    )
    if report.interrupted is not None:
        name = signal.Signals(report.interrupted).name
        print(
            f"interrupted by {name}: every child killed; the gradebook keeps the {len(report.records)} finished "
            f"submissions, {report.not_graded} not graded; run the same command again to resume from the cache",
            flush=True,
        )
        return 128 + report.interrupted
    return 0


def _reference(args: argparse.Namespace) -> int:
    from coursekit.course.reference.command import run_command

    return run_command(args)


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
    p.add_argument("--no-store", action="store_true", help="only run; leave the stored outputs as they are")
    p.add_argument("--device", help="the notebooks' device (sets COURSEKIT_DEVICE), e.g. cuda; default: automatic")
    p.add_argument("--report", metavar="JSON", help="write the device and each notebook's time (or error) to JSON")
    p.set_defaults(run=_execute)
    p = commands.add_parser("book", help="build the website")
    p.add_argument("--no-solutions", action="store_true", help="leave the Solutions part out")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--output", help="build into OUTPUT/_build instead of the root")
    p.set_defaults(run=_book)
    from coursekit.course.reference.command import add_arguments as add_reference_arguments

    p = commands.add_parser("reference", help="run, list or show the chapters' reference experiments")
    add_reference_arguments(p).set_defaults(run=_reference, prog="coursekit reference")
    p = commands.add_parser("grade", help="grade submitted notebooks into a gradebook")
    p.add_argument("paths", nargs="+", metavar="PATH", help="notebooks, or folders of notebooks (one per student)")
    p.add_argument("--out", required=True, help="output folder of the gradebook")
    p.add_argument("--jobs", type=int, default=2, help="submissions graded in parallel (default 2)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per submission's child run (default 60)")
    p.add_argument("--memory", type=int, default=3072, help="address-space limit per submission, MiB (default 3072)")
    p.add_argument("--hidden-tests", help="folder of the instructor's hidden tests (*.py)")
    p.add_argument(
        "--chapter",
        help="the assignment's chapter, e.g. 01_sde_basics (default: inferred); 'each': every notebook as its own",
    )
    p.add_argument("--disk", type=int, default=256, help="disk use of a submission's process in all, MiB (default 256)")
    p.add_argument(
        "--isolation",
        default="auto",
        choices=("auto", "bubblewrap", "guard"),
        help="bubblewrap (bwrap) around each child, or the child's guard alone (default: auto)",
    )
    p.add_argument("--solutions", help="the solution notebooks, to flag copies (default: ./solutions when present)")
    p.add_argument("--file-mode", default="644", help="octal permissions of the files written (default 644)")
    p.set_defaults(run=_grade)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
