"""The notebook set-up call: seeds everything, picks the device, honours COURSEKIT_DEVICE, says what it chose."""

import random

import numpy as np
import pytest
import torch

from coursekit.notebook import DEVICE_ENV, default_device, on_gpu, setup_notebook


def test_seeds_python_numpy_and_torch(capsys):
    setup_notebook(seed=3)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    setup_notebook(seed=3, quiet=True)
    assert first == (random.random(), np.random.rand(), torch.rand(1).item())
    line = capsys.readouterr().out
    assert "seed: 3" in line and "device:" in line and DEVICE_ENV in line


def test_device_override(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert default_device() == torch.device("cpu")
    assert not on_gpu()
    monkeypatch.setenv(DEVICE_ENV, "not-a-device")
    with pytest.raises(ValueError, match="not a torch device"):
        default_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_cuda_requested_without_cuda(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        default_device()


def test_default_is_cuda_when_available(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        setup_notebook(seed=-1)
