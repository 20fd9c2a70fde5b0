"""Data sets of the course: 2-D toys with exact log-densities, 8x8 digits, curves such as the smiley.

Modules: ``toys``, ``digits``, ``shapes``. The public names of each are re-exported here, so
``from coursekit.data import X`` works for every ``X`` in a module's ``__all__``.
"""

from coursekit.data import digits, shapes, toys
from coursekit.data.digits import (
    IMAGE_SIZE as IMAGE_SIZE,
    fit_digit_classifier as fit_digit_classifier,
    image_grid as image_grid,
    load_digits as load_digits,
    nearest_distance as nearest_distance,
    split as split,
    within_class_diversity as within_class_diversity,
)
from coursekit.data.shapes import (
    smiley as smiley,
)
from coursekit.data.toys import (
    DATASETS as DATASETS,
    has_log_prob as has_log_prob,
    log_prob as log_prob,
    mixture as mixture,
    num_classes as num_classes,
    sample as sample,
    sample_labelled as sample_labelled,
)

__all__ = [
    "DATASETS",
    "IMAGE_SIZE",
    "digits",
    "fit_digit_classifier",
    "has_log_prob",
    "image_grid",
    "load_digits",
    "log_prob",
    "mixture",
    "nearest_distance",
    "num_classes",
    "sample",
    "sample_labelled",
    "shapes",
    "smiley",
    "split",
    "toys",
    "within_class_diversity",
]
