"""dlnotes.distributed: a real two-process gloo/DDP job against a single-process reference, a
failing worker (raise and silent death) that leaves no process behind, and bad input."""

import multiprocessing as mp
import os

import psutil
import pytest
import torch
import torch.distributed as dist
from torch import nn

from dlnotes import distributed as D


def _no_children() -> None:
    assert mp.active_children() == []
    assert psutil.Process(os.getpid()).children(recursive=True) == []


@pytest.fixture(scope="module")
def ddp_run():
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 64, generator=g), torch.randint(0, 10, (8,), generator=g)) for _ in range(2)]
    results = D.launch(D.ddp_worker, 2, args=(batches, 0.5, 0.0005), timeout=120)
    _no_children()
    return batches, results


def test_ddp_replicas_start_from_rank0_and_stay_equal(ddp_run):
    _, (r0, r1) = ddp_run
    assert r0["backend"] == "gloo" and r0["rank"] == 0 and r1["rank"] == 1
    assert not torch.equal(r0["before"], r1["before"])
    assert torch.equal(r1["after_wrap"], r0["before"]) and torch.equal(r0["after_wrap"], r0["before"])
    for a, b in zip(r0["steps"], r1["steps"]):
        assert torch.equal(a, b)


def test_ddp_equals_single_process_on_combined_batch(ddp_run):
    batches, (r0, _) = ddp_run
    model = D.make_model(seed=100)
    for (x, y), got, grad in zip(batches, r0["steps"], r0["grads"]):
        nn.functional.cross_entropy(model(x), y).backward()
        ref_grad = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
        assert torch.allclose(grad, ref_grad, atol=1e-6)
        D.sgd_step(model, 0.5)
        assert torch.allclose(got, D.flat_parameters(model), atol=1e-6)


def test_buckets_average_the_local_gradients(ddp_run):
    _, (r0, r1) = ddp_run
    first, later = r0["buckets"][0], r0["buckets"][-1]
    assert [b["n_params"] for b in first] == [6]
    assert [(b["index"], b["n_params"]) for b in later] == [(0, 2), (1, 2), (2, 2)]
    mean = torch.cat([(a["local"] + b["local"]) / 2 for a, b in zip(later, r1["buckets"][-1])])
    assert torch.allclose(torch.sort(mean).values, torch.sort(r0["grads"][-1]).values, atol=1e-7)
    assert r0["events"][-1][2] == "bucket 0 all-reduce starts"


@pytest.mark.parametrize("how", ["raise", "exit"])
def test_failing_worker_surfaces_and_leaves_no_process(how):
    with pytest.raises(D.WorkerError) as info:
        D.launch(D.failing_worker, 2, args=(1, how), timeout=120, stop_timeout=2)
    assert info.value.rank == 1
    expected = "ValueError: rank 1 fails on purpose" if how == "raise" else "code 7"
    assert expected in info.value.summary
    _no_children()


def test_bucket_assignment_matches_torch():
    sizes = [10, 160, 16, 512, 32, 2048, 7]
    tensors = [torch.zeros(n) for n in sizes]
    for cap in (1, 100, 524, 2000, 10**6):
        ref, _ = dist._compute_bucket_assignment_by_size(tensors, [cap])
        assert D.bucket_assignment([4 * n for n in sizes], cap) == ref


def test_helpers_and_bad_input():
    port = D.free_port()
    assert 0 < port < 65536
    m = D.make_model(3, sizes=(4, 3, 2))
    assert D.flat_parameters(m).numel() == 4 * 3 + 3 + 3 * 2 + 2
    with pytest.raises(TypeError, match="module-level"):
        D.launch(lambda rank, world: rank)
    with pytest.raises(TypeError, match="function"):
        D.launch(42)
    with pytest.raises(ValueError, match="world_size"):
        D.launch(D.failing_worker, 0)
    with pytest.raises(ValueError, match="timeout"):
        D.launch(D.failing_worker, 2, timeout=0)
    with pytest.raises(ValueError, match="seed"):
        D.make_model(-1)
    with pytest.raises(ValueError, match="sizes"):
        D.make_model(0, sizes=(4,))
    with pytest.raises(ValueError, match="lr"):
        D.sgd_step(m, 0)
    with pytest.raises(TypeError, match="nn.Module"):
        D.flat_parameters("model")
    with pytest.raises(ValueError, match="cap_bytes"):
        D.bucket_assignment([4], 0)
    with pytest.raises(ValueError, match="how"):
        D.failing_worker(0, 2, 1, how="hang")
    _no_children()
