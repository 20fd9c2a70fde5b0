"""``python -m coursekit.course.reference {run,list,show} ...`` (see :mod:`coursekit.course.reference.command`)."""

import sys

from coursekit.course.reference.command import main

sys.exit(main())
