"""Tables of benchmark results: printing, and writing JSON/CSV with the machine they ran on."""

from __future__ import annotations

import csv
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

__all__ = ["Table", "machine_info", "write_tables"]


@dataclass
class Table:
    """One benchmark table.

    Attributes:
        name: Short file-name-safe name, e.g. ``"cfm_throughput"``.
        title: One-line title printed above the table.
        rows: One dict per row, the same keys in every row (the columns, in order).
        notes: Lines printed under the table (ratios, settings, the command that made it).
    """

    name: str
    title: str
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def format(self) -> str:
        """The table as aligned text."""
        if not self.rows:
            return f"{self.title}\n  (no rows)"
        columns = list(self.rows[0])
        cells = [[_cell(row.get(c)) for c in columns] for row in self.rows]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        lines = [self.title, "  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def machine_info(device: torch.device | str = "cpu") -> dict:
    """The machine a benchmark ran on: device, its name, CPU count, torch version, threads."""
    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or "CPU")
    return {
        "device": str(device),
        "device_name": name,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_tables(tables: list[Table], out: str | Path, machine: dict, *, extra: dict | None = None) -> list[Path]:
    """Write ``out/results.json`` (every table, the machine, ``extra``) and ``out/<table>.csv`` each."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables:
        path = out / f"{table.name}.csv"
        with path.open("w", newline="") as handle:
            if table.rows:
                writer = csv.DictWriter(handle, fieldnames=list(table.rows[0]))
                writer.writeheader()
                writer.writerows(table.rows)
        written.append(path)
    payload = {"machine": machine, **(extra or {}), "tables": [asdict(t) for t in tables]}
    path = out / "results.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)
    written.append(path)
    return written
