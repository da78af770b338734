"""dlnotes.distributed: a real two-process gloo/DDP job against a single-process reference, a
real failing job that leaves no process behind, the parent's bookkeeping (silent death, blame
order, timeout, SIGTERM then SIGKILL, interrupts, the resource tracker) on pipes and stub or
stdlib-only processes, and bad input. Only two launches start processes that import torch."""

import multiprocessing as mp
import os
import pickle
import signal
import time
from multiprocessing import resource_tracker

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
    shapes = {n: p.shape for n, p in D.make_model(0).named_parameters()}
    final = dict(zip(shapes, torch.split(r0["grads"][-1], [s.numel() for s in shapes.values()])))
    for a, b in zip(later, r1["buckets"][-1]):
        assert a["names"] == b["names"] and len(a["names"]) == 2
        reference = torch.cat([final[n].reshape(-1) for n in a["names"]])
        assert torch.allclose((a["local"] + b["local"]) / 2, reference, atol=1e-7)
        assert torch.equal(a["averaged"], reference)
    assert sorted(later[0]["names"]) == ["4.bias", "4.weight"]
    assert r0["events"][-1][2] == "bucket 0 all-reduce starts"


def test_failing_worker_surfaces_and_leaves_no_process():
    with pytest.raises(D.WorkerError) as info:
        D.launch(D.failing_worker, 2, args=(1,), timeout=120, stop_timeout=2)
    assert info.value.rank == 1 and not info.value.while_joining
    assert "ValueError: rank 1 fails on purpose" in info.value.summary
    assert "Traceback" in info.value.details
    _no_children()


class _Stub:
    """Stands in for a process in ``_collect`` and ``_stop`` (nothing is started)."""

    def __init__(self, exitcode=0, interrupt_joins=0):
        self.pid, self.exitcode, self.calls = 12345, exitcode, []
        self.interrupt_joins = interrupt_joins

    def join(self, timeout=None):
        self.calls.append("join")
        if self.interrupt_joins:
            self.interrupt_joins -= 1
            raise KeyboardInterrupt

    def terminate(self):
        self.calls.append("terminate")

    def kill(self):
        self.calls.append("kill")
        self.exitcode = -9

    def close(self):
        self.calls.append("close")


def _pipes(n):
    pairs = [mp.Pipe(duplex=False) for _ in range(n)]
    return [r for r, _ in pairs], [w for _, w in pairs]


def test_collect_returns_results_in_rank_order():
    readers, writers = _pipes(2)
    writers[1].send((True, 2.0, pickle.dumps("one")))
    writers[0].send((True, 1.0, pickle.dumps("zero")))
    assert D._collect([_Stub(), _Stub()], readers, timeout=5) == ["zero", "one"]


def test_collect_blames_a_silent_death_first():
    readers, writers = _pipes(2)
    writers[1].close()
    writers[0].send((False, time.time(), ("RuntimeError: connection closed by peer", "", False)))
    with pytest.raises(D.WorkerError) as info:
        D._collect([_Stub(), _Stub(exitcode=7)], readers, timeout=5)
    assert info.value.rank == 1 and "code 7" in info.value.summary and "stderr" in info.value.summary


def test_collect_blames_the_earliest_report_and_times_out():
    readers, writers = _pipes(2)
    writers[0].send((False, 2.0, ("RuntimeError: later", "", False)))
    writers[1].send((False, 1.0, ("ValueError: first", "tb", True)))
    with pytest.raises(D.WorkerError) as info:
        D._collect([_Stub(), _Stub()], readers, timeout=5)
    assert (info.value.rank, info.value.summary, info.value.while_joining) == (1, "ValueError: first", True)
    readers, writers = _pipes(2)
    writers[0].send((True, 1.0, pickle.dumps(0)))
    with pytest.raises(TimeoutError, match="0.1 s"):
        D._collect([_Stub(), _Stub()], readers, timeout=0.1)


def test_stop_still_signals_after_an_interrupt():
    first, second = _Stub(exitcode=None, interrupt_joins=1), _Stub(exitcode=None)
    with pytest.raises(KeyboardInterrupt):
        D._stop([first, second], timeout=5)
    for stub in (first, second):
        assert "terminate" in stub.calls and stub.calls[-3:] == ["kill", "join", "close"]
    quick = _Stub(exitcode=None)
    D._stop([quick], timeout=5, grace=False)
    assert quick.calls[0] == "terminate"


_SLEEPER = (
    "import signal, time\n"
    "if stubborn:\n"
    "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "ready.send(True)\n"
    "time.sleep(60)\n"
)


def test_stop_terminates_then_kills_real_processes(monkeypatch):
    monkeypatch.setattr(D, "_STOP_SIGNAL_TIMEOUT", 0.2)
    ctx = mp.get_context("spawn")
    tracker_was_running = D._resource_tracker_pid() is not None
    procs, codes = [], []
    try:
        for stubborn in (False, True):
            reader, writer = ctx.Pipe(duplex=False)
            procs.append(ctx.Process(target=exec, args=(_SLEEPER, {"ready": writer, "stubborn": stubborn})))
            procs[-1].start()
            writer.close()
            assert reader.poll(30) and reader.recv()
            reader.close()
    finally:
        popens = [p._popen for p in procs]
        D._stop(procs, timeout=0.1, grace=False)
        codes = [popen.returncode for popen in popens]
        if not tracker_was_running:
            D._stop_resource_tracker(D._resource_tracker_pid())
    assert codes == [-signal.SIGTERM, -signal.SIGKILL]
    _no_children()


def test_resource_tracker_helpers_degrade_safely(monkeypatch):
    D._stop_resource_tracker(None)
    D._stop_resource_tracker(os.getpid())
    monkeypatch.delattr(resource_tracker, "_resource_tracker")
    assert D._resource_tracker_pid() is None
    D._stop_resource_tracker(12345)
    assert D._port_clash(
        "DistNetworkError: port: 1, code: -98, name: EADDRINUSE, message: address already in use"
    )
    assert not D._port_clash("ValueError: rank 1 fails on purpose")
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
