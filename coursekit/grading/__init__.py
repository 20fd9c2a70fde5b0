r"""Instructor grading: ``coursekit grade PATH... --out DIR`` over a folder of submitted notebooks.

The grading tests are the checks of :mod:`coursekit.exercises` (the same ones a student's
self-check runs, one source of truth), plus the instructor's optional hidden tests
(:mod:`coursekit.grading.hidden`). The modules, in the order a submission meets them:

* :mod:`~coursekit.grading.submission`: read a notebook, find its chapter and each exercise's code;
* :mod:`~coursekit.grading.runner` and :mod:`~coursekit.grading.child`: run that code and the checks
  in a child process with time and memory limits, guarding the trusted objects;
* :mod:`~coursekit.grading.gradebook`: points, ``grades.csv``, ``grades.json``, feedback files;
* :mod:`~coursekit.grading.batch`: many submissions in parallel, with cached results.

The grader is not a sandbox against a determined attacker: run it in a container without
network for untrusted classes (see the book's page "For instructors"). Chapter: every.
"""

from coursekit.grading.batch import GradeReport, collect_submissions, grade, grader_version
from coursekit.grading.runner import Limits

__all__ = ["GradeReport", "Limits", "collect_submissions", "grade", "grader_version"]
