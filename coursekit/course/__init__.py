"""The course's tooling, apart from its mathematics.

- ``notebook``: the one set-up call of every chapter (seed, device, threads, style);
- ``exercises``: the exercise registry and the students' self-checks (``ck.check``);
- ``authoring``: the student copy generated from ``solutions/``, and notebook execution;
- ``grading``: the instructor's grader (sandboxed child processes, gradebook);
- ``pretrain``: the shipped checkpoints; ``benchmarks``: the benchmark command;
- ``cli``: the ``coursekit`` command that ties them together.

The mathematics (``coursekit.sde`` ... ``coursekit.metrics``) never imports this package.
"""

__all__: list[str] = []
