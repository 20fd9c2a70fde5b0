"""``python -m coursekit.course.benchmarks [NAME ...] [--quick] [--device D] [--out DIR] [--list]``."""

from __future__ import annotations

import argparse
import sys
import time

import torch

from coursekit.course.benchmarks import BENCHMARKS, load, machine_info, write_tables


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks named on the command line (``argv``, default ``sys.argv[1:]``) and write their tables.

    Returns:
        The exit status, 0 on success.
    """
    parser = argparse.ArgumentParser(prog="python -m coursekit.course.benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes and budgets (CI); the figures are rough")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--out", default="artifacts/benchmarks", help="folder of results.json and the CSVs")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, (_, description) in BENCHMARKS.items():
            print(f"{name:12s} {description}")
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda given but CUDA is not available")
    machine = machine_info(device)
    print(
        f"machine: {machine['device']} ({machine['device_name']}), {machine['cpu_count']} CPUs, "
        f"torch {machine['torch']}, {'quick' if args.quick else 'full'} mode"
    )
    tables, seconds = [], {}
    for name in args.names or list(BENCHMARKS):
        start = time.perf_counter()
        for table in load(name).run(quick=args.quick, device=device):
            print("\n" + table.format(), flush=True)
            tables.append(table)
        seconds[name] = round(time.perf_counter() - start, 1)
    command = "python -m coursekit.course.benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)
    paths = write_tables(
        tables, args.out, machine, extra={"quick": args.quick, "seconds": seconds, "command": command.strip()}
    )
    print(f"\nwrote {', '.join(map(str, paths))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
