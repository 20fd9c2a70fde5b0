"""The training loop and the MLP: a regression is learned, bad losses are named, shapes are checked."""

import sys

import pytest
import torch

from coursekit.nn.networks import MLP, TimeEmbedding
from coursekit.nn.training import train


def test_train_fits_a_time_dependent_function():
    torch.manual_seed(0)
    net = MLP(1, hidden=64, layers=3)
    gen = torch.Generator().manual_seed(1)

    def target(x, t):
        return torch.sin(3 * x) * t[:, None]

    def loss_fn(step):
        x = torch.rand(256, 1, generator=gen) * 2 - 1
        t = torch.rand(256, generator=gen)
        return ((net(x, t) - target(x, t)) ** 2).mean()

    history = train(loss_fn, net, steps=1500, lr=1e-3, progress=False)
    assert len(history) == 1500
    # the loss starts near Var(target) = 0.15 and must fall well below it (0.0002 when this was written)
    assert sum(history[-50:]) / 50 < 0.01


def test_train_names_bad_losses():
    w = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match="0-d tensor"):
        train(lambda step: w * 1.0, [w], steps=1, progress=False)
    with pytest.raises(ValueError, match="became nan at step 0"):
        train(lambda step: (w * float("nan")).sum(), [w], steps=1, progress=False)
    with pytest.raises(ValueError, match="steps"):
        train(lambda step: w.sum(), [w], steps=0)


def test_mlp_shapes_and_time_forms():
    net = MLP(3, hidden=16, layers=2)
    x = torch.randn(5, 3)
    assert net(x, 0.5).shape == (5, 3)
    assert net(x, torch.full((5,), 0.5)).shape == (5, 3)
    torch.testing.assert_close(net(x, 0.5), net(x, torch.full((5,), 0.5)))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        net(torch.randn(5, 2), 0.5)
    assert MLP(2, time_features=0)(torch.randn(4, 2)).shape == (4, 2)
    assert MLP(2, out_dim=1)(torch.randn(4, 2), 0.1).shape == (4, 1)


def test_time_embedding():
    emb = TimeEmbedding(8)(torch.tensor([0.0, 1.0]))
    assert emb.shape == (2, 8)
    torch.testing.assert_close(emb[0], torch.cat([torch.zeros(4), torch.ones(4)]))
    with pytest.raises(ValueError, match="even"):
        TimeEmbedding(3)


def _count_host_syncs(monkeypatch):
    """Count coursekit's calls of the Tensor methods that wait for the device.

    ``.item()``, ``float()``, ``bool()`` (a Python ``if`` on a tensor) and ``.tolist()``, called from
    coursekit's code (Adam's own ``.item()`` on its CPU step counter is no device sync).
    """
    calls = {"item": 0, "__float__": 0, "__bool__": 0, "tolist": 0}
    for name in calls:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            if sys._getframe(1).f_globals.get("__name__", "").startswith("coursekit"):
                calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return calls


def test_train_waits_for_the_device_once_every_check_every_steps(monkeypatch):
    w = torch.nn.Parameter(torch.tensor([3.0, -1.0]))
    target = torch.tensor([1.0, 2.0])
    calls = _count_host_syncs(monkeypatch)
    history = train(lambda step: ((w - target) ** 2).sum(), [w], steps=120, lr=0.1, progress=False, check_every=50)
    monkeypatch.undo()
    assert len(history) == 120 and all(isinstance(v, float) for v in history)
    assert calls == {"item": 0, "__float__": 0, "__bool__": 0, "tolist": 3}  # steps 49, 99 and the last one
    assert history[-1] < 1e-3 * history[0]


def test_train_history_is_the_loss_of_every_step():
    w = torch.nn.Parameter(torch.tensor([2.0]))
    seen = []

    def loss_fn(step):
        loss = (w**2).sum()
        seen.append(loss.item())
        return loss

    assert train(loss_fn, [w], steps=7, lr=0.1, progress=False, check_every=3) == seen


def test_train_names_the_first_bad_step_between_checks():
    w = torch.nn.Parameter(torch.ones(1))
    with pytest.raises(ValueError, match="became inf at step 7; lower the learning rate"):
        train(lambda step: w.sum() * (float("inf") if step >= 7 else 1.0), [w], steps=30, check_every=5, progress=False)


def test_train_steps_a_scheduler():
    w = torch.nn.Parameter(torch.ones(2))
    frozen = lambda optimizer: torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.0)  # noqa: E731
    train(lambda step: (w**2).sum(), [w], steps=5, lr=0.1, progress=False, scheduler=frozen)
    assert torch.equal(w.detach(), torch.ones(2))  # a zero learning rate from the start: nothing moved
    decayed = []

    def record(optimizer):
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        decayed.append(optimizer)
        return scheduler

    train(lambda step: (w**2).sum(), [w], steps=3, lr=0.1, progress=False, scheduler=record)
    assert decayed[0].param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)
    with pytest.raises(ValueError, match="check_every"):
        train(lambda step: w.sum(), [w], steps=2, check_every=0, progress=False)
