"""The exact assignment (minibatch OT, W2 of samples) equals the Hungarian algorithm's optimum."""

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from coursekit.data import toys
from coursekit.metrics.assignment import optimal_assignment


@pytest.mark.parametrize("n", [1, 7, 64, 300])
def test_same_optimal_cost_as_the_hungarian_algorithm(n):
    g = torch.Generator().manual_seed(n)
    for x in (torch.randn(n, 2, generator=g), toys.sample("8gaussians", n, generator=g)):
        z = torch.randn(n, 2, generator=g)
        cost = (torch.cdist(x.double(), z.double()) ** 2).numpy()
        perm = optimal_assignment(cost)
        assert sorted(perm.tolist()) == list(range(n))  # a permutation
        rows, cols = linear_sum_assignment(cost)
        assert cost[np.arange(n), perm].sum() == pytest.approx(cost[rows, cols].sum(), rel=1e-12, abs=1e-12)


def test_ties_still_give_a_permutation():
    perm = optimal_assignment(np.zeros((5, 5)))
    assert sorted(perm.tolist()) == list(range(5))


def test_bad_costs_are_refused():
    with pytest.raises(ValueError, match="square"):
        optimal_assignment(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN or inf"):
        optimal_assignment(np.array([[0.0, np.inf], [1.0, 0.0]]))
