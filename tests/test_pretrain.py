"""The checkpoint script of Chapters 3 and 4: quick mode writes models that load and beat their start."""

import math

import pytest
import torch

from coursekit.course import pretrain
from coursekit.data import toys


@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    try:
        assert pretrain.main(["--quick", "--out", str(out)]) == 0
    finally:
        torch.set_num_threads(threads)
    # the script draws from explicit generators and initialises from a forked copy of the global one
    assert torch.equal(torch.get_rng_state(), state), "pretrain changed torch's global random state"
    return out


@pytest.mark.parametrize("kind", ["cnf", "ot_flow"])
def test_quick_checkpoint_loads_and_beats_the_untrained_model(quick_dir, kind):
    model = pretrain.load_pretrained(kind, quick_dir)
    assert model.pretrain_info["quick"] is True
    assert (quick_dir / f"{kind}_8gaussians.pt").stat().st_size < 200_000
    x = toys.sample("8gaussians", 500, generator=torch.Generator().manual_seed(7))
    nll = pretrain.evaluate_nll(kind, model, x, n_steps=4)
    torch.manual_seed(0)  # the script's initialisation
    untrained = pretrain.build(kind, **pretrain.ARCHITECTURE[kind])
    baseline = pretrain.evaluate_nll(kind, untrained, x, n_steps=4)
    assert math.isfinite(nll) and nll < baseline - 0.3, (nll, baseline)


@pytest.mark.parametrize("kind", ["cnf", "ot_flow"])
def test_shipped_checkpoint_is_small_and_good(kind):
    path = pretrain.CHECKPOINTS / f"{kind}_8gaussians.pt"
    assert path.stat().st_size < 200_000
    model = pretrain.load_pretrained(kind)
    assert model.pretrain_info["quick"] is False
    x = toys.sample("8gaussians", 500, generator=torch.Generator().manual_seed(8))
    assert pretrain.evaluate_nll(kind, model, x) < 3.0  # the data's entropy is about 2.82 nats


def test_unknown_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="kind 'gan'"):
        pretrain.build("gan")
    with pytest.raises(FileNotFoundError, match="pretrain"):
        pretrain.load_pretrained("cnf", tmp_path)
