"""Real data-parallel training on one machine: a two-process launcher and the DDP workers.

``launch(worker, world_size)`` runs ``worker(rank, world_size, *args)`` in ``world_size`` fresh
Python processes (the ``"spawn"`` start method, as in Jupyter, Colab and pytest-xdist workers),
each joined to one ``torch.distributed`` process group over the gloo backend on 127.0.0.1. It
returns every rank's result (a picklable object) and always cleans up: the workers destroy their
process group, the parent joins them with a timeout, terminates (SIGTERM) and then kills
(SIGKILL) any straggler, and a worker that raises or dies surfaces as a ``WorkerError`` in the
parent. A worker also exits by itself when its parent process disappears.

The worker functions live here, at module level, because ``"spawn"`` pickles the function by its
qualified name and the child imports this module (PyTorch, no scikit-learn or matplotlib) to find
it. ``ddp_worker`` is the chapter's experiment; ``failing_worker`` fails on purpose.
"""

from __future__ import annotations

import datetime
import multiprocessing as mp
import os
import pickle
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence

import torch
from torch import nn

from dlnotes._checks import positive_int

__all__ = [
    "WorkerError",
    "free_port",
    "launch",
    "make_model",
    "flat_parameters",
    "sgd_step",
    "bucket_assignment",
    "recording_allreduce_hook",
    "ddp_worker",
    "failing_worker",
]

_STOP_SIGNAL_TIMEOUT = 5.0


class WorkerError(RuntimeError):
    """A rank of a ``launch`` job raised (or died): ``rank``, ``summary`` (its error line),
    ``details`` (its traceback) and ``while_joining`` (it failed in ``init_process_group``)."""

    def __init__(self, rank: int, summary: str, details: str = "", while_joining: bool = False):
        super().__init__(f"rank {rank} failed: {summary}" + (f"\n{details}" if details else ""))
        self.rank = rank
        self.summary = summary
        self.details = details
        self.while_joining = while_joining


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _watch_parent(parent: int) -> None:
    """Exit this process at once when the process that started it is gone (it gets a new parent)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(3)


def _entry(worker, rank, world_size, port, channel, payload, timeout, parent) -> None:
    """Body of each spawned process: join the group, run ``worker``, report, leave the group.

    The report goes into this rank's own pipe BEFORE the group is destroyed, so a rank that fails
    has reported before the others can notice that it left. A failure report says whether it
    happened while joining the group (``init_process_group``), before the worker ran. Once the
    group is destroyed the process ends at once (``os._exit`` after flushing its output): there is
    nothing left to clean up, and the interpreter's shutdown with torch loaded takes seconds.
    """
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    import torch.distributed as dist

    try:
        joining = True
        try:
            dist.init_process_group(
                "gloo",
                rank=rank,
                world_size=world_size,
                timeout=datetime.timedelta(seconds=timeout),
            )
            joining = False
            result = worker(rank, world_size, *pickle.loads(payload))
            report = (True, time.time(), pickle.dumps(result))
        except BaseException as err:  # noqa: BLE001 - every failure is reported to the parent
            summary = f"{type(err).__name__}: {err}".splitlines()[0]
            report = (False, time.time(), (summary, traceback.format_exc(), joining))
        channel.send(report)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
        channel.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if report[0] else 1)


def _stop(procs: Sequence[mp.process.BaseProcess], timeout: float, grace: bool = True) -> None:
    """Stop every started process in ``procs``: none is left when this returns (or raises).

    With ``grace``, first join each for up to ``timeout`` s in all (the finished job's ranks exit
    by themselves); without it (a failure or an interrupt) go straight on. Then SIGTERM to every
    process still alive and, ``_STOP_SIGNAL_TIMEOUT`` s later, SIGKILL to any that ignored it.
    The signals are sent in ``finally`` blocks, so an interrupt (a second Ctrl-C) during a join
    does not skip them.
    """
    started = [p for p in procs if p.pid is not None]
    try:
        if grace:
            deadline = time.monotonic() + timeout
            for p in started:
                p.join(max(0.0, deadline - time.monotonic()))
    finally:
        try:
            for p in started:
                if p.exitcode is None:
                    p.terminate()
            deadline = time.monotonic() + _STOP_SIGNAL_TIMEOUT
            for p in started:
                p.join(max(0.0, deadline - time.monotonic()))
        finally:
            for p in started:
                if p.exitcode is None:
                    p.kill()
                    p.join()
                p.close()


def _resource_tracker_pid() -> int | None:
    """The pid of the standard library's resource-tracker helper process, if it runs."""
    from multiprocessing import resource_tracker

    tracker = getattr(resource_tracker, "_resource_tracker", None)
    if getattr(tracker, "_fd", None) is None:
        return None
    return getattr(tracker, "_pid", None)


def _stop_resource_tracker(pid: int | None, wait: float = 2.0) -> None:
    """Stop the resource tracker that starting "spawn" processes started, if it is ``pid``.

    It holds nothing of ours (no named semaphores or shared memory), and it exits when its pipe
    closes. Unlike the standard library's private ``_stop``, this never blocks and never raises:
    it reaps the tracker for up to ``wait`` s (if a process forked meanwhile still holds the
    pipe, the tracker exits with that process instead), and it does nothing when the private
    attributes it relies on (Python 3.10 to 3.13) are missing or the tracker is not ``pid``.
    """
    from multiprocessing import resource_tracker

    tracker = getattr(resource_tracker, "_resource_tracker", None)
    lock = getattr(tracker, "_lock", None)
    if pid is None or lock is None or not lock.acquire(timeout=wait):
        return
    try:
        fd = getattr(tracker, "_fd", None)
        if fd is None or getattr(tracker, "_pid", None) != pid:
            return
        tracker._fd = None
        os.close(fd)
    except Exception:  # noqa: BLE001 - cleanup must not replace the caller's result or error
        return
    finally:
        lock.release()
    deadline = time.monotonic() + wait
    try:
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
    except Exception:  # noqa: BLE001 - already reaped (ChildProcessError) or not ours
        pass
    if getattr(tracker, "_pid", None) == pid:
        tracker._pid = None


def launch(
    worker: Callable,
    world_size: int = 2,
    args: Sequence = (),
    timeout: float = 300.0,
    stop_timeout: float = 5.0,
) -> list:
    """Run ``worker(rank, world_size, *args)`` in ``world_size`` processes; return their results.

    ``worker`` must be a module-level function (``"spawn"`` imports it by name); ``args`` and the
    results must pickle. The processes join a gloo process group on 127.0.0.1 and a free port,
    with ``timeout`` seconds for each collective; each sends its result (or its error) through
    its own pipe. If a rank raises, a process exits without reporting, or ``timeout`` seconds
    pass, the other processes are stopped and ``WorkerError`` (the rank that failed first) or
    ``TimeoutError`` is raised. In every case, also on KeyboardInterrupt, no process is left: after
    a success the ranks get ``stop_timeout`` seconds to exit; then, and at once after a failure,
    every process still alive gets SIGTERM and, if it ignores it, SIGKILL; the resource-tracker
    helper that "spawn" starts is stopped too if this call started it. If the free port was taken
    by another program before rank 0 could listen on it, the job is started once more on a new port.
    """
    if not callable(worker):
        raise TypeError(f"worker must be a function, got {type(worker).__name__}")
    name = getattr(worker, "__qualname__", "")
    if getattr(worker, "__module__", "__main__") == "__main__" or "<" in name:
        raise TypeError(
            f"worker must be a module-level function importable by name (spawn), got {name or worker!r}"
        )
    positive_int("world_size", world_size)
    for label, value in (("timeout", timeout), ("stop_timeout", stop_timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{label} must be a number > 0, got {value!r}")
    payload = pickle.dumps(tuple(args))
    try:
        return _launch_once(worker, world_size, payload, timeout, stop_timeout)
    except WorkerError as err:
        if not (err.while_joining and _port_clash(err.summary)):
            raise
    return _launch_once(worker, world_size, payload, timeout, stop_timeout)


def _port_clash(summary: str) -> bool:
    """Whether an error line says that the port was already in use (gloo's TCP store, EADDRINUSE)."""
    text = summary.lower()
    return "eaddrinuse" in text or "address already in use" in text


def _launch_once(worker, world_size: int, payload: bytes, timeout: float, stop_timeout: float) -> list:
    """One attempt of ``launch`` (arguments already checked, ``args`` pickled)."""
    ctx = mp.get_context("spawn")
    tracker_was_running = _resource_tracker_pid() is not None
    port = free_port()
    pipes = [ctx.Pipe(duplex=False) for _ in range(world_size)]
    procs = [
        ctx.Process(
            target=_entry,
            args=(worker, rank, world_size, port, pipes[rank][1], payload, timeout, os.getpid()),
            name=f"dlnotes-rank-{rank}",
            daemon=True,
        )
        for rank in range(world_size)
    ]
    finished = False
    try:
        for p, (_, writer) in zip(procs, pipes):
            p.start()
            writer.close()
        results = _collect(procs, [reader for reader, _ in pipes], timeout)
        finished = True
        return results
    finally:
        try:
            _stop(procs, stop_timeout, grace=finished)
        finally:
            for reader, writer in pipes:
                reader.close()
                writer.close()
            if not tracker_was_running:
                _stop_resource_tracker(_resource_tracker_pid())


def _collect(procs, readers, timeout: float) -> list:
    """One report per rank; raise at the first failure, a silent death, or the timeout.

    Several failures seen in one poll are ordered by the time each rank reported; a process that
    died without a report is ordered first (time -inf): its death is the root cause, the errors
    of the others (a closed connection) are its consequences.
    """
    from multiprocessing.connection import wait

    outcome: dict[int, object] = {}
    open_ranks = set(range(len(procs)))
    deadline = time.monotonic() + timeout
    while len(outcome) < len(procs):
        ready = wait([readers[r] for r in open_ranks], timeout=0.05)
        failures = []
        for rank in sorted(r for r in open_ranks if readers[r] in ready):
            open_ranks.discard(rank)
            try:
                ok, when, data = readers[rank].recv()
            except EOFError:
                procs[rank].join(1.0)
                summary = (
                    f"the process exited (code {procs[rank].exitcode}) without a result; "
                    "its traceback, if any, is on its stderr (the terminal or the notebook server's log)"
                )
                failures.append((float("-inf"), rank, summary, "", False))
                continue
            if ok:
                outcome[rank] = pickle.loads(data)
            else:
                failures.append((when, rank, *data))
        if failures:
            _, rank, summary, details, joining = min(failures)
            raise WorkerError(rank, summary, details, while_joining=joining)
        if time.monotonic() > deadline:
            raise TimeoutError(f"the job did not finish within {timeout} s")
    return [outcome[rank] for rank in range(len(procs))]


def make_model(seed: int, sizes: Sequence[int] = (64, 32, 16, 10)) -> nn.Sequential:
    """A small ReLU MLP with layer widths ``sizes``, its weights drawn from ``torch.manual_seed(seed)``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {list(sizes)}")
    for s in sizes:
        positive_int("each layer width", s)
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """All parameters of ``model`` as one detached 1-D tensor (in ``model.parameters()`` order)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


@torch.no_grad()
def sgd_step(model: nn.Module, lr: float) -> None:
    """Plain SGD, ``p -= lr * p.grad`` for every parameter, then the gradients are cleared."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a number > 0, got {lr!r}")
    for p in model.parameters():
        if p.grad is not None:
            p.sub_(lr * p.grad)
            p.grad = None


def bucket_assignment(sizes_bytes: Sequence[int], cap_bytes: int) -> list[list[int]]:
    """DDP's greedy bucketing: walk the tensors in the given order, close a bucket once it holds
    at least ``cap_bytes`` bytes. Returns the tensor indices of each bucket (DDP passes the
    parameters in reverse order, so that the last layer, whose gradient is ready first, comes first).
    """
    positive_int("cap_bytes", cap_bytes)
    buckets: list[list[int]] = []
    current: list[int] = []
    filled = 0
    for i, size in enumerate(sizes_bytes):
        positive_int("each tensor size in bytes", size)
        current.append(i)
        filled += size
        if filled >= cap_bytes:
            buckets.append(current)
            current, filled = [], 0
    if current:
        buckets.append(current)
    return buckets


def recording_allreduce_hook(state: dict, bucket):
    """A DDP communication hook that averages like the default ``allreduce_hook`` and records.

    For each bucket it appends to ``state["log"]`` the bucket's index, its number of parameters,
    their names in buffer order (from ``state["names"]``, keyed by ``data_ptr()``, if given) and a
    copy of the local (not yet averaged) flat gradient; then it divides by the world size
    and starts an asynchronous all-reduce (sum), whose result, the mean, it also records
    (``"averaged"``) before DDP copies it back into ``p.grad``.
    """
    import torch.distributed as dist

    buffer = bucket.buffer()
    entry = {
        "index": bucket.index(),
        "n_params": len(bucket.parameters()),
        "names": [state.get("names", {}).get(q.data_ptr(), "?") for q in bucket.parameters()],
        "local": buffer.detach().clone(),
    }
    state["log"].append(entry)
    state["events"].append(f"bucket {bucket.index()} all-reduce starts")
    buffer.div_(dist.get_world_size())

    def finish(fut):
        averaged = fut.value()[0]
        entry["averaged"] = averaged.detach().clone()
        return averaged

    return dist.all_reduce(buffer, async_op=True).get_future().then(finish)


def ddp_worker(rank: int, world_size: int, batches: list, lr: float, bucket_cap_mb: float) -> dict:
    """The chapter's experiment on one rank: seeds differ per rank, DDP syncs, steps stay equal.

    ``batches`` holds ``(x, y)`` pairs of the COMBINED batch; rank ``r`` trains on rows
    ``r::world_size`` of each. Returns the parameters before and after wrapping, after every step,
    the local gradients, the bucket log and the event order of every backward pass, and the local
    losses.
    """
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    model = make_model(seed=100 + rank)
    before = flat_parameters(model)
    names = {id(p): n for n, p in model.named_parameters()}
    ddp = DDP(model, bucket_cap_mb=bucket_cap_mb)
    state: dict = {"log": [], "events": [], "names": {p.data_ptr(): n for n, p in model.named_parameters()}}
    after_wrap = flat_parameters(model)
    ddp.register_comm_hook(state, recording_allreduce_hook)
    for p in model.parameters():
        p.register_post_accumulate_grad_hook(
            lambda q: state["events"].append(f"gradient of {names[id(q)]} ready")
        )
    steps, losses, grads, logs, events = [], [], [], [], []
    for x, y in batches:
        state["log"], state["events"] = [], []
        loss = nn.functional.cross_entropy(ddp(x[rank::world_size]), y[rank::world_size])
        loss.backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).clone())
        sgd_step(model, lr)
        steps.append(flat_parameters(model))
        losses.append(loss.item())
        logs.append(state["log"])
        events.append(state["events"])
    dist.barrier()
    return {
        "rank": rank,
        "backend": dist.get_backend(),
        "before": before,
        "after_wrap": after_wrap,
        "steps": steps,
        "grads": grads,
        "losses": losses,
        "buckets": logs,
        "events": events,
        "n_params": len(list(model.parameters())),
    }


def failing_worker(rank: int, world_size: int, failing_rank: int, how: str = "raise") -> str:
    """Rank ``failing_rank`` fails (``how="raise"``: a ValueError; ``"exit"``: the process dies
    with exit code 7 and no report); every other rank waits in an all-reduce that never completes.
    """
    import torch.distributed as dist

    if how not in ("raise", "exit"):
        raise ValueError(f"how must be 'raise' or 'exit', got {how!r}")
    if rank == failing_rank:
        if how == "exit":
            os._exit(7)
        raise ValueError(f"rank {rank} fails on purpose")
    dist.all_reduce(torch.ones(1))
    return "finished"


def draw_ddp_flow(ax=None):
    """Diagram of one DDP step with two ranks: shards, replicas, buckets, all-reduce, local step."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.6))
    rows = ["shard of the batch", "replica: forward", "backward: local grads", "step: w -= lr * g"]
    for rank, x0 in ((0, 0.02), (1, 0.62)):
        ax.text(x0 + 0.18, 0.97, f"process rank {rank}", ha="center", weight="bold")
        for i, label in enumerate(rows):
            y = 0.8 - 0.22 * i
            ax.add_patch(FancyBboxPatch((x0, y), 0.36, 0.11, boxstyle="round,pad=0.01", fc="#dbe9f6"))
            ax.text(x0 + 0.18, y + 0.055, label, ha="center", va="center", fontsize=9)
            if i:
                ax.add_patch(
                    FancyArrowPatch(
                        (x0 + 0.18, y + 0.22), (x0 + 0.18, y + 0.115), arrowstyle="-|>", mutation_scale=12
                    )
                )
    ax.add_patch(FancyBboxPatch((0.42, 0.30), 0.16, 0.2, boxstyle="round,pad=0.01", fc="#fde2c4"))
    ax.text(0.5, 0.4, "all-reduce\nper bucket:\nmean of grads", ha="center", va="center", fontsize=9)
    for xa, xb in ((0.38, 0.42), (0.62, 0.58)):
        ax.add_patch(FancyArrowPatch((xa, 0.395), (xb, 0.395), arrowstyle="<|-|>", mutation_scale=12))
    ax.add_patch(
        FancyArrowPatch(
            (0.38, 0.69), (0.62, 0.69), arrowstyle="-|>", mutation_scale=12, ls="--", color="gray"
        )
    )
    ax.text(
        0.5,
        0.72,
        "at construction:\nbroadcast rank 0's weights",
        ha="center",
        va="bottom",
        fontsize=8,
        color="gray",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0.1, 1.02)
    ax.axis("off")
    return ax
