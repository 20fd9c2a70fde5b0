"""The notebook set-up call: seeds everything, picks the device, honours COURSEKIT_DEVICE, says what it chose."""

import random

import numpy as np
import pytest
import torch

from coursekit.course.notebook import DEVICE_ENV, THREADS_ENV, default_device, on_gpu, set_threads, setup_notebook


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


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_one_cpu_thread_unless_asked(monkeypatch, restore_threads, capsys):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert set_threads(torch.device("cpu")) == 1 and torch.get_num_threads() == 1
    monkeypatch.setenv(THREADS_ENV, "2")
    assert set_threads(torch.device("cpu")) == 2 and torch.get_num_threads() == 2
    setup_notebook(seed=0, device="cpu")
    assert "2 CPU threads" in capsys.readouterr().out
    monkeypatch.delenv(THREADS_ENV)
    assert set_threads(torch.device("meta")) is None  # not a CPU: left alone
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_thread_count(monkeypatch, restore_threads, value):
    monkeypatch.setenv(THREADS_ENV, value)
    with pytest.raises(ValueError, match=THREADS_ENV):
        set_threads(torch.device("cpu"))
