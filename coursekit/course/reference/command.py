"""The command line of the reference runs: ``run``, ``list`` and ``show`` (also ``coursekit reference ...``).

::

    python -m coursekit.course.reference list [CHAPTER]
    python -m coursekit.course.reference run CHAPTER [NAME ...] [--quick] [--device D] [--seeds N]
                                             [--out DIR] [--cache DIR] [--no-progress]
    python -m coursekit.course.reference show CHAPTER [NAME] [--file JSON]
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "format_results", "main", "run_command"]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``run``/``list``/``show`` sub-commands to ``parser`` (the module's or ``coursekit reference``'s).

    Args:
        parser: The parser to extend.

    Returns:
        The same parser.
    """
    actions = parser.add_subparsers(dest="action", required=True, metavar="{run,list,show}")
    p = actions.add_parser("run", help="run a chapter's experiments and write their results files")
    p.add_argument("chapter", help="the chapter, e.g. 05")
    p.add_argument("names", nargs="*", help="experiments (default: all of the chapter's)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="the same code at toy size (seconds); written to a temporary folder, never over the shipped file",
    )
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--seeds", type=int, metavar="N", help="use seeds 0..N-1 instead of the configuration's")
    p.add_argument("--out", help="folder of the results files (default: the package's results/ at full size)")
    p.add_argument("--cache", help="folder of the per-seed cache that lets an interrupted run resume")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p = actions.add_parser("list", help="list the chapters' experiments and their shipped results")
    p.add_argument("chapter", nargs="?", help="only this chapter")
    p = actions.add_parser("show", help="print a results file: every figure as mean ± sd over the seeds")
    p.add_argument("chapter")
    p.add_argument("name", nargs="?", help="the experiment (default: each of the chapter's)")
    p.add_argument("--file", help="a results file other than the shipped one (e.g. a --quick run's)")
    return parser


def format_results(results: dict) -> str:
    """A results dict as text: the header (seeds, sizes, time, machine) and one line per figure.

    Args:
        results: A results dict (:func:`coursekit.course.reference.load_results`).

    Returns:
        The text.
    """
    from coursekit.metrics.spread import Spread

    machine = results["machine"]
    lines = [
        f"{results['chapter']}_{results['experiment']}: {results['title']}",
        f"  {results['n_seeds']} seeds {results['seeds']}, sizes {results['sizes']}",
        f"  {results['wall_time_s']:.0f} s on {machine['device']} ({machine['cpu']}, {machine['torch_threads']} "
        f"thread(s), torch {machine['torch']}), coursekit {results['library_version']}, "
        f"config {results['config_hash'][:12]}{'' if results['full_size'] else ' (NOT the full size)'}",
        f"  {'figure':44s} {'mean ± sd':>20s}   per seed",
    ]
    for name, record in {**results.get("shared", {}), **results["figures"]}.items():
        spread = Spread.from_dict(record)
        values = ", ".join(f"{v:.4g}" for v in spread.values)
        lines.append(f"  {name:44s} {spread.format(4):>20s}   [{values}]")
    return "\n".join(lines)


def run_command(args: argparse.Namespace) -> int:
    """Carry out parsed arguments of :func:`add_arguments`.

    Args:
        args: The parsed arguments.

    Returns:
        The exit status (0 on success).
    """
    from coursekit.course import reference

    prog = getattr(args, "prog", "coursekit reference")
    try:
        if args.action == "list":
            for chapter in [reference.normalize_chapter(args.chapter)] if args.chapter else reference.chapters():
                for name in reference.experiments(chapter):
                    experiment = reference.get(chapter, name)
                    path = reference.results_path(chapter, name)
                    shipped = "shipped" if path.exists() else "not run yet"
                    print(f"{chapter} {name:12s} {experiment.title}\n{'':15s} results: {path} ({shipped})")
            return 0
        if args.action == "show":
            names = [args.name] if args.name else reference.experiments(args.chapter)
            for name in names:
                print(format_results(reference.load_results(args.chapter, name, args.file)))
            return 0
        import torch

        from coursekit.course.notebook import set_threads

        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        set_threads(device)  # one CPU thread unless COURSEKIT_THREADS says otherwise (robust on a busy machine)
        options = [
            args.chapter,
            *args.names,
            *(["--quick"] if args.quick else []),
            *([f"--device {args.device}"] if args.device else []),
            *([f"--seeds {args.seeds}"] if args.seeds else []),
        ]
        command = f"{prog} run " + " ".join(options)
        for results in reference.run(
            args.chapter,
            args.names or None,
            quick=args.quick,
            device=device,
            n_seeds=args.seeds,
            out_dir=args.out,
            cache_dir=args.cache,
            progress=not args.no_progress,
            command=command.strip(),
        ):
            print(format_results(results))
            where = args.out or reference.default_out_dir(results["full_size"])
            print(f"  wrote {where}/{results['chapter']}_{results['experiment']}.json")
    except (ValueError, FileNotFoundError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m coursekit.course.reference``.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    parser = add_arguments(
        argparse.ArgumentParser(
            prog="python -m coursekit.course.reference",
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    args = parser.parse_args(argv)
    args.prog = parser.prog
    return run_command(args)
