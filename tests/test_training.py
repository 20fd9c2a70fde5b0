"""The training loop and the MLP: a regression is learned, bad losses are named, shapes are checked."""

import pytest
import torch

from coursekit.networks import MLP, TimeEmbedding
from coursekit.training import train


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
