"""Exact divergence equals the Jacobian trace; Hutchinson's estimate is unbiased."""

import pytest
import torch

from coursekit.flows.divergence import exact_divergence, hutchinson_divergence, sample_probes

F64 = torch.float64


def _field(gen, d):
    A = torch.randn(d, d, generator=gen, dtype=F64)
    b = torch.randn(d, generator=gen, dtype=F64)
    return lambda x: torch.tanh(x @ A.T + b) + x**3 / 3


def _jacobian_trace(f, x):
    return torch.stack([torch.trace(torch.autograd.functional.jacobian(lambda y: f(y[None])[0], xi)) for xi in x])


@pytest.mark.parametrize("d", [1, 2, 5])
def test_exact_equals_jacobian_trace(gen, d):
    f = _field(gen, d)
    x = torch.randn(6, d, generator=gen, dtype=F64)
    div = exact_divergence(f, x)
    assert div.shape == (6,) and not div.requires_grad
    assert torch.allclose(div, _jacobian_trace(f, x), atol=1e-12)


def test_exact_linear_field():
    A = torch.tensor([[1.0, 2.0], [3.0, -4.0]], dtype=F64)
    assert torch.allclose(
        exact_divergence(lambda x: x @ A.T, torch.randn(4, 2, dtype=F64)), torch.full((4,), -3.0, dtype=F64)
    )


@pytest.mark.parametrize("distribution", ["rademacher", "gaussian"])
def test_hutchinson_is_unbiased(gen, distribution):
    d = 4
    f = _field(gen, d)
    x = torch.randn(3, d, generator=gen, dtype=F64)
    exact = exact_divergence(f, x)
    samples = torch.stack(
        [hutchinson_divergence(f, x, distribution=distribution, generator=gen) for _ in range(2000)]
    )  # (K, N)
    mean, se = samples.mean(0), samples.std(0) / 2000**0.5
    assert ((mean - exact).abs() < 4 * se).all(), (mean, exact, se)
    many = hutchinson_divergence(f, x, n_probes=2000, distribution=distribution, generator=gen)
    assert torch.allclose(many, exact, atol=6 * float(se.max()))  # the 2000-probe mean has std se


def test_hutchinson_fixed_probes_and_reproducible(gen):
    f = _field(gen, 3)
    x = torch.randn(5, 3, generator=gen, dtype=F64)
    a = hutchinson_divergence(f, x, n_probes=3, generator=torch.Generator().manual_seed(1))
    b = hutchinson_divergence(f, x, n_probes=3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    probes = sample_probes((3, 5, 3), generator=torch.Generator().manual_seed(1), dtype=F64)
    assert set(probes.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(hutchinson_divergence(f, x, probes=probes), a)


def test_create_graph_allows_training():
    w = torch.tensor(2.0, dtype=F64, requires_grad=True)
    div = exact_divergence(lambda x: w * x**2, torch.ones(3, 2, dtype=F64), create_graph=True)  # 2 w x per dim
    div.sum().backward()
    assert torch.isclose(w.grad, torch.tensor(12.0, dtype=F64))


def test_bad_input(gen):
    with pytest.raises(ValueError, match="shape of x"):
        exact_divergence(lambda x: x.sum(1), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="distribution"):
        hutchinson_divergence(lambda x: x, torch.zeros(3, 2), distribution="uniform")
    with pytest.raises(ValueError, match="probes"):
        hutchinson_divergence(lambda x: x, torch.zeros(3, 2), probes=torch.zeros(2, 3, 3))
    with pytest.raises(ValueError, match="n_probes"):
        hutchinson_divergence(lambda x: x, torch.zeros(3, 2), n_probes=0)
