"""Explicit randomness: draws follow the generator's device, the caller's state is never touched."""

import os

import pytest
import torch

from coursekit import rng


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda g: rng.randn((3, 2), generator=g), lambda g: torch.randn(3, 2, generator=g)),
        (lambda g: rng.rand((5,), generator=g), lambda g: torch.rand(5, generator=g)),
        (lambda g: rng.randint(2, 9, (4, 3), generator=g), lambda g: torch.randint(2, 9, (4, 3), generator=g)),
        (lambda g: rng.randperm(7, generator=g), lambda g: torch.randperm(7, generator=g)),
    ],
    ids=["randn", "rand", "randint", "randperm"],
)
def test_draws_are_torch_draws_from_the_generator(ours, theirs):
    assert torch.equal(ours(_gen(3)), theirs(_gen(3)))
    assert not torch.equal(ours(_gen(3)), ours(_gen(4)))


def test_a_cpu_generator_drives_another_device():
    """Drawn on the generator's device, then moved: the same seed gives the same numbers anywhere."""
    device = "meta"  # a device with no random engine of its own stands in for a GPU
    for draw in (
        lambda g: rng.randn((4,), generator=g, device=device),
        lambda g: rng.rand((4,), generator=g, device=device, dtype=torch.float64),
        lambda g: rng.randint(0, 3, (4,), generator=g, device=device),
        lambda g: rng.randperm(4, generator=g, device=device),
    ):
        out = draw(_gen())
        assert out.device.type == "meta" and out.shape == (4,)
    assert rng.rand((2,), generator=_gen(), dtype=torch.float64).dtype == torch.float64
    assert rng.randint(0, 3, (2,)).dtype == torch.int64


def test_ranges():
    u = rng.rand((10_000,), generator=_gen())
    assert 0 <= float(u.min()) and float(u.max()) < 1 and abs(float(u.mean()) - 0.5) < 0.02
    k = rng.randint(3, 6, (1000,), generator=_gen())
    assert set(k.tolist()) == {3, 4, 5}
    assert sorted(rng.randperm(50, generator=_gen()).tolist()) == list(range(50))


def test_generator_none_uses_the_global_state_only_as_torch_does():
    torch.manual_seed(5)
    a = rng.rand((3,))
    torch.manual_seed(5)
    assert torch.equal(a, torch.rand(3))


def test_forked_seed_repeats_and_restores():
    torch.manual_seed(11)
    state = torch.get_rng_state()
    with rng.forked_seed(0):
        first = torch.nn.Linear(3, 2).weight.detach().clone()
    assert torch.equal(torch.get_rng_state(), state)  # the caller's state is untouched
    with rng.forked_seed(0):
        second = torch.nn.Linear(3, 2).weight.detach().clone()
    torch.manual_seed(0)
    assert torch.equal(first, second) and torch.equal(first, torch.nn.Linear(3, 2).weight)
    with pytest.raises(ValueError, match="seed"):
        with rng.forked_seed(-1):
            pass


def test_seed_everything_leaves_the_environment_alone(monkeypatch):
    """PYTHONHASHSEED only acts when Python starts: setting it at run time would only mislead."""
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    rng.seed_everything(3)
    assert "PYTHONHASHSEED" not in os.environ
    a = torch.rand(2)
    rng.seed_everything(3)
    assert torch.equal(a, torch.rand(2))


def test_spawn_seed_is_reproducible():
    assert rng.spawn_seed(_gen(1)) == rng.spawn_seed(_gen(1))
    assert 0 <= rng.spawn_seed(_gen(2)) < 2**31 - 1
