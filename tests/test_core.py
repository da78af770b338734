"""seed_everything() and device()."""

import pytest
import torch

import dlnotes


def test_seed_everything_reproduces_torch_numpy_and_python():
    import random

    import numpy as np

    def draw():
        return torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random()

    g1 = dlnotes.seed_everything(123)
    a = draw()
    g2 = dlnotes.seed_everything(123)
    assert draw() == a
    assert torch.rand(2, generator=g1).tolist() == torch.rand(2, generator=g2).tolist()
    dlnotes.seed_everything(124)
    assert draw() != a


@pytest.mark.parametrize("bad, error", [(1.5, TypeError), ("1", TypeError), (True, TypeError),
                                        (-1, ValueError), (2**32, ValueError)])
def test_seed_everything_rejects_bad_seeds(bad, error):
    with pytest.raises(error, match="seed"):
        dlnotes.seed_everything(bad)


def test_device_defaults_to_best_available(monkeypatch):
    monkeypatch.delenv("DLNOTES_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else None
    dev = dlnotes.device()
    if expected:
        assert dev.type == expected
    assert dev.type in ("cpu", "cuda", "mps")


def test_device_override_by_env_and_argument(monkeypatch):
    monkeypatch.setenv("DLNOTES_DEVICE", "cpu")
    assert dlnotes.device() == torch.device("cpu")
    monkeypatch.setenv("DLNOTES_DEVICE", " CPU ")
    assert dlnotes.device() == torch.device("cpu")
    monkeypatch.setenv("DLNOTES_DEVICE", "tpu")
    assert dlnotes.device("cpu") == torch.device("cpu")  # the argument wins over the variable
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        dlnotes.device()


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cpu:0", "mps:1"])
def test_device_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match="unknown device"):
        dlnotes.device(bad)


def test_device_rejects_non_string():
    with pytest.raises(TypeError):
        dlnotes.device(0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_cuda_is_an_error_not_a_fallback():
    with pytest.raises(RuntimeError, match="not available"):
        dlnotes.device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_index_out_of_range():
    with pytest.raises(RuntimeError, match="CUDA device"):
        dlnotes.device(f"cuda:{torch.cuda.device_count()}")
