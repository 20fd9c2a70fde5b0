"""Stored notebook outputs do not depend on the thread count (issue 15, section 3).

The outputs are stored by ``coursekit execute`` with one CPU thread (``ck.setup_notebook``'s
default). This test runs nbval on every solution notebook with two threads: an output that nbval
compares and that changes with the order of floating-point reductions fails here, on any machine,
instead of only on a CI machine whose CPU differs. (The student copies in ``book/`` run the same
code; ``make test`` compares them with the stored outputs already.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_solutions_reproduce_with_two_threads() -> None:
    env = {**os.environ, "COURSEKIT_THREADS": "2", "OMP_NUM_THREADS": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header", str(ROOT / "solutions")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
