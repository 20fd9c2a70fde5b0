"""The trace-cost and flow-throughput benchmarks run in quick mode and report sensible tables."""

import torch

from coursekit.course.benchmarks import BENCHMARKS, load, trace_cost


def test_registered():
    assert BENCHMARKS["trace"][0] == "coursekit.course.benchmarks.trace_cost"
    assert BENCHMARKS["flows"][0] == "coursekit.course.benchmarks.flow_throughput"


def test_trace_cost_quick_table():
    (table,) = load("trace").run(quick=True, device=torch.device("cpu"))
    assert [row["d"] for row in table.rows] == [2, 16]
    for row in table.rows:
        assert all(row[name] > 0 for name in trace_cost.METHODS)
    # d backward passes against none: the exact trace is the slowest at d = 16
    big = table.rows[-1]
    assert big["exact autograd"] > big["OT-Flow Laplacian"]
    assert "trace" in table.format().lower() or "divergence" in table.format().lower()


def test_flow_throughput_quick_table():
    (table,) = load("flows").run(quick=True, device=torch.device("cpu"))
    assert {row["model"] for row in table.rows} == {"CNF, exact div", "CNF, Hutchinson", "OT-Flow"}
    assert all(row["steps/s"] > 0 and row["samples/s"] > 0 for row in table.rows)
