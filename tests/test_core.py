"""seed_everything(), device(), the lean `import dlnotes`, and device-independent starts."""

import subprocess
import sys

import pytest
import torch
from torch import nn

import dlnotes
from dlnotes import data


def test_seed_everything_reproduces_torch_numpy_and_python():
    import random

    import numpy as np

    def draw():
        return torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random()

    assert dlnotes.seed_everything(123) is None  # a cell ending with it prints nothing
    a = draw()
    dlnotes.seed_everything(123)
    assert draw() == a
    dlnotes.seed_everything(124)
    assert draw() != a


def test_seed_everything_fixes_the_numerics_that_differ_between_devices():
    backends = torch.backends
    saved = (backends.cudnn.deterministic, backends.cudnn.benchmark,
             backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32)
    try:
        backends.cudnn.deterministic, backends.cudnn.benchmark = False, True
        backends.cuda.matmul.allow_tf32 = backends.cudnn.allow_tf32 = True
        dlnotes.seed_everything(0)
        assert backends.cudnn.deterministic and not backends.cudnn.benchmark
        assert not backends.cuda.matmul.allow_tf32 and not backends.cudnn.allow_tf32
    finally:
        (backends.cudnn.deterministic, backends.cudnn.benchmark,
         backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32) = saved


def test_import_dlnotes_loads_no_heavy_optional_dependency():
    """The kernel-start floor: `import dlnotes` pulls in torch and numpy, nothing else heavy."""
    code = ("import sys, dlnotes\n"
            "heavy = ('matplotlib', 'sklearn', 'scipy', 'ipywidgets', 'networkx', 'IPython')\n"
            "print(' '.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import dlnotes loaded: {out.stdout.strip()}"


def _chapter_model(dev: str) -> dict[str, torch.Tensor]:
    """The chapters' pattern: seed, build on the CPU (the default device), then move."""
    dlnotes.seed_everything(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).to(dev)
    noise = (0.1 * torch.randn(4)).to(dev)  # drawn on the CPU: the same on any device
    return {**{k: v.cpu() for k, v in model.state_dict().items()}, "noise": noise.cpu()}


@pytest.mark.parametrize("dev", [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")),
    pytest.param("mps", marks=pytest.mark.skipif(
        not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
        reason="needs MPS")),
])
def test_a_chapter_model_starts_identical_on_every_device(dev):
    reference = _chapter_model("cpu")
    other = _chapter_model(dev)
    assert reference.keys() == other.keys()
    for name, value in reference.items():
        assert torch.equal(value, other[name]), name


def test_data_splits_and_loaders_use_their_own_cpu_generators():
    """Same seed, same split and batch order, whatever the global RNG did before, untouched."""
    x, y = torch.arange(100.0).unsqueeze(1), torch.arange(100)

    def run():
        splits = data.split_tensors(x, y, seed=3)
        loaders = data.make_loaders(splits, batch_size=16, seed=3)
        assert loaders["train"].generator.device == torch.device("cpu")
        return [batch[1].tolist() for batch in loaders["train"]], data.sine_waves(4, 10, 0.1, seed=3)

    torch.manual_seed(0)
    first, waves = run()
    expected_next = torch.rand(1)
    torch.manual_seed(12345)  # a different global state changes nothing ...
    again, waves_again = run()
    assert again == first and torch.equal(waves, waves_again)
    torch.manual_seed(0)
    run()
    assert torch.equal(torch.rand(1), expected_next)  # ... and the global RNG is not consumed
    assert data.split_indices(10, seed=1)[0].device == torch.device("cpu")


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
