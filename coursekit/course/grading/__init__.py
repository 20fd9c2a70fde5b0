r"""Instructor grading: ``coursekit grade PATH... --out DIR`` over a folder of submitted notebooks.

The grading tests are the checks of :mod:`coursekit.course.exercises` (the same ones a student's
self-check runs, one source of truth), plus the instructor's optional hidden tests
(:mod:`coursekit.course.grading.hidden`). The modules, in the order a submission meets them:

* :mod:`~coursekit.course.grading.submission`: read a notebook, find its chapter and each exercise's code;
* :mod:`~coursekit.course.grading.assignment`: the batch's chapter, and copies of the solution;
* :mod:`~coursekit.course.grading.runner` and :mod:`~coursekit.course.grading.child`: run that code on the checks'
  inputs in a child process with time, memory and disk limits, guarding the trusted objects
  (:mod:`~coursekit.course.grading.guard`), under bubblewrap where it works
  (:mod:`~coursekit.course.grading.sandbox`);
* :mod:`~coursekit.course.grading.verdict`: the child records the function's outputs, the grader
  replays the checks on them and takes the verdict itself;
* :mod:`~coursekit.course.grading.gradebook`: points, ``grades.csv``, ``grades.json``, feedback files;
* :mod:`~coursekit.course.grading.batch`: many submissions in parallel, with cached results, and
  a clean stop on Ctrl-C or SIGTERM.

The grader is not a sandbox against a determined attacker: run it in a container without
network for untrusted classes (see the book's page "For instructors"). Chapter: every.
"""

from coursekit.course.grading.batch import GradeReport, collect_submissions, grade, grader_version
from coursekit.course.grading.runner import Limits

__all__ = ["GradeReport", "Limits", "collect_submissions", "grade", "grader_version"]
