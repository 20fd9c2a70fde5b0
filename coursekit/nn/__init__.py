"""Networks and the training loop used by every chapter.

Modules: ``networks``, ``training``. The public names of each are re-exported here, so
``from coursekit.nn import X`` works for every ``X`` in a module's ``__all__``.
"""

from coursekit.nn import networks, training
from coursekit.nn.networks import (
    MLP as MLP,
    TimeEmbedding as TimeEmbedding,
)
from coursekit.nn.training import (
    train as train,
)

__all__ = [
    "MLP",
    "TimeEmbedding",
    "networks",
    "train",
    "training",
]
