"""The client side of a deployed model: start an endpoint, call it, batch-transform a file, time it.

``Endpoint`` starts the model server (``src/dlnotes/serve.py``) as a separate process on 127.0.0.1 and always
stops it again (also when the code inside the ``with`` block fails), so no server is left behind.
``request`` sends any HTTP request and returns the status, headers and body without raising on a
4xx; ``invoke`` sends rows to ``/invocations`` and returns the predictions; ``batch_transform``
splits a CSV file into mini-batches under a payload limit (SageMaker's ``MultiRecord`` strategy)
and writes one prediction per input line, in order; ``latency_burst`` sends a bounded burst of
concurrent requests and returns each one's status and latency. Only the standard library is used
(``urllib.request``, ``concurrent.futures``, ``subprocess``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dlnotes import serve
from dlnotes.serve import TARGET_HEADER, VARIANT_HEADER, VERSION_HEADER

__all__ = [
    "Response",
    "Prediction",
    "EndpointError",
    "request",
    "invoke",
    "batch_transform",
    "Call",
    "latency_burst",
    "Endpoint",
]


# Run serve.py as a script without importing the dlnotes package (which imports PyTorch) and
# without putting src/dlnotes on sys.path (where a chapter module could shadow a standard one).
_RUN_SCRIPT = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"

# An opener without proxies: urlopen honours http_proxy, and proxy_bypass() does not exempt
# 127.0.0.1, so with a proxy set, requests to the local endpoint would go to the proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Response:
    """An HTTP response: status code, headers (a dict) and body (bytes)."""

    status: int
    headers: dict
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@dataclass(frozen=True)
class Prediction:
    """What ``invoke`` returns: the predictions and the variant and model version that answered."""

    predictions: list[float]
    variant: str
    version: str


class EndpointError(RuntimeError):
    """The endpoint answered with an error status; ``status`` and ``message`` say which and why."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


def _check_url(url: object) -> str:
    if not isinstance(url, str) or not url.startswith("http://"):
        raise ValueError(f"url must be an http:// URL string, got {url!r}")
    return url.rstrip("/")


def request(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None, timeout: float = 30
) -> Response:
    """Send one HTTP request; a 4xx or 5xx answer is returned, not raised.

    The request goes straight to the host of ``url``: proxy settings (``http_proxy``) are ignored.
    Connection failures (nothing listening, a reset) raise ``urllib.error.URLError`` / ``OSError``.
    """
    if not isinstance(url, str) or not url.startswith("http://"):
        raise ValueError(f"url must be an http:// URL string, got {url!r}")
    if body is not None and not isinstance(body, bytes):
        raise TypeError(f"body must be bytes or None, got {type(body).__name__}")
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with _OPENER.open(req, timeout=timeout) as answer:
            return Response(answer.status, dict(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as answer:
        with answer:
            return Response(answer.code, dict(answer.headers.items()), answer.read())


def _encode(rows: object, content_type: str) -> bytes:
    try:
        rows = [[float(v) for v in row] for row in rows]
    except (TypeError, ValueError):
        raise TypeError("rows must be a sequence of rows of numbers") from None
    if not rows:
        raise ValueError("rows must not be empty")
    if content_type == "application/json":
        return json.dumps({"instances": rows}).encode()
    if content_type == "text/csv":
        return "".join(",".join(repr(v) for v in row) + "\n" for row in rows).encode()
    raise ValueError(f"content_type must be application/json or text/csv, got {content_type!r}")


def _decode(answer: Response) -> list[float]:
    if answer.headers.get("Content-Type", "").startswith("text/csv"):
        return [float(line) for line in answer.body.decode().splitlines()]
    return [float(p) for p in answer.json()["predictions"]]


def invoke(
    url: str,
    rows: object,
    content_type: str = "application/json",
    accept: str = "application/json",
    target_variant: str | None = None,
    timeout: float = 30,
) -> Prediction:
    """POST ``rows`` (a list of rows of numbers, or a tensor) to ``url + "/invocations"``.

    The rows are serialised as ``content_type`` (JSON ``{"instances": rows}`` or CSV lines); the
    answer is read as ``accept``. Raises ``EndpointError`` when the status is not 200.
    """
    url = _check_url(url)
    if hasattr(rows, "tolist"):
        rows = rows.tolist()
    headers = {"Content-Type": content_type, "Accept": accept}
    if target_variant is not None:
        headers[TARGET_HEADER] = target_variant
    answer = request(url + "/invocations", "POST", _encode(rows, content_type), headers, timeout)
    if answer.status != 200:
        try:
            message = answer.json()["error"]
        except (ValueError, KeyError, TypeError):
            message = answer.body.decode(errors="replace")
        raise EndpointError(answer.status, message)
    return Prediction(
        _decode(answer), answer.headers.get(VARIANT_HEADER, ""), answer.headers.get(VERSION_HEADER, "")
    )


def _mini_batches(lines: list[str], max_payload_bytes: int) -> list[list[str]]:
    batches, batch, size = [], [], 0
    for i, line in enumerate(lines, start=1):
        n = len(line.encode()) + 1
        if n > max_payload_bytes:
            raise ValueError(f"line {i} alone has {n} bytes, more than max_payload_bytes={max_payload_bytes}")
        if batch and size + n > max_payload_bytes:
            batches.append(batch)
            batch, size = [], 0
        batch.append(line)
        size += n
    if batch:
        batches.append(batch)
    return batches


def batch_transform(
    input_csv: str | Path,
    url: str,
    output_path: str | Path | None = None,
    max_payload_bytes: int = 6 * 1024 * 1024,
    max_concurrent: int = 1,
) -> dict:
    """Predict every line of ``input_csv`` through the endpoint; write one prediction a line, in order.

    Consecutive lines are packed into mini-batches of at most ``max_payload_bytes`` (SageMaker's
    ``MultiRecord`` batch strategy with ``SplitType=Line``), sent as ``text/csv``, at most
    ``max_concurrent`` at a time. The output goes to ``output_path`` (default: the input path plus
    ``.out``, as SageMaker names it). Returns ``{"records", "requests", "output"}``.
    """
    url = _check_url(url)
    input_csv = Path(input_csv)
    if not input_csv.is_file():
        raise FileNotFoundError(f"no input file at {input_csv}")
    for name, value in [("max_payload_bytes", max_payload_bytes), ("max_concurrent", max_concurrent)]:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    lines = [line for line in input_csv.read_text().splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{input_csv} has no records")
    batches = _mini_batches(lines, max_payload_bytes)

    def send(batch: list[str]) -> list[str]:
        body = ("\n".join(batch) + "\n").encode()
        answer = request(
            url + "/invocations", "POST", body, {"Content-Type": "text/csv", "Accept": "text/csv"}
        )
        if answer.status != 200:
            raise EndpointError(answer.status, answer.body.decode(errors="replace"))
        out = answer.body.decode().splitlines()
        if len(out) != len(batch):
            raise RuntimeError(f"sent {len(batch)} records, got {len(out)} predictions back")
        return out

    with ThreadPoolExecutor(max_workers=max_concurrent) as pool:
        results = list(pool.map(send, batches))
    output = Path(output_path) if output_path is not None else input_csv.with_name(input_csv.name + ".out")
    output.write_text("".join(p + "\n" for batch in results for p in batch))
    return {"records": len(lines), "requests": len(batches), "output": output}


@dataclass(frozen=True)
class Call:
    """One request of a burst: the status (0 if the connection failed), seconds, variant, prediction."""

    status: int
    seconds: float
    variant: str
    prediction: float | None


def latency_burst(url: str, rows: object, n_requests: int, concurrency: int = 8) -> list[Call]:
    """Send ``n_requests`` one-row JSON requests with at most ``concurrency`` in flight at once.

    Request ``i`` carries ``rows[i % len(rows)]``. Returns the ``Call`` of each request, in the order
    sent; the latency of a request is measured from just before it is sent to its full answer.
    """
    url = _check_url(url)
    if hasattr(rows, "tolist"):
        rows = rows.tolist()
    rows = list(rows)
    if not rows:
        raise ValueError("rows must not be empty")
    for name, value in [("n_requests", n_requests), ("concurrency", concurrency)]:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    bodies = [_encode([rows[i % len(rows)]], "application/json") for i in range(n_requests)]
    headers = {"Content-Type": "application/json", "Accept": "application/json"}

    def send(body: bytes) -> Call:
        start = time.perf_counter()
        try:
            answer = request(url + "/invocations", "POST", body, headers)
        except OSError:
            return Call(0, time.perf_counter() - start, "", None)
        seconds = time.perf_counter() - start
        prediction = _decode(answer)[0] if answer.status == 200 else None
        return Call(answer.status, seconds, answer.headers.get(VARIANT_HEADER, ""), prediction)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(send, bodies))


def _stop(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL: the process is gone afterwards."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Endpoint:
    """A model server in its own process: ``with Endpoint(config_path) as ep: invoke(ep.url, rows)``.

    Entering starts ``src/dlnotes/serve.py`` as a script (standard library and NumPy only), bound
    to 127.0.0.1 on a free port, reads the port it prints, and waits until ``GET /ping`` answers
    200. Leaving (also on an error) asks the process to stop (SIGTERM), waits for it, and kills it
    only if it does not stop within ``stop_timeout`` seconds, so no process is left behind.
    ``shutdown()`` stops it through ``POST /admin/shutdown`` (falling back to SIGTERM, then
    SIGKILL, if the server does not answer or stop) and returns its exit code. The
    process also stops when this object is garbage-collected or Python exits, and (it watches
    its parent) when the process that started it dies. The server's log (stderr) is kept in
    ``log`` (a string) after it stops.
    """

    def __init__(
        self,
        config_path: str | Path,
        max_body_bytes: int | None = None,
        start_timeout: float = 60,
        stop_timeout: float = 10,
    ):
        config_path = Path(config_path)
        if not config_path.is_file():
            raise FileNotFoundError(f"no endpoint configuration at {config_path}")
        self.config_path = config_path
        self.max_body_bytes = max_body_bytes
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None
        self.log = ""
        self._log_file = None

    def _command(self) -> list[str]:
        script = Path(serve.__file__).resolve()
        cmd = [
            sys.executable,
            "-c",
            _RUN_SCRIPT,
            str(script),
            "--config",
            str(self.config_path),
            "--port",
            "0",
            "--exit-with-parent",
        ]
        if self.max_body_bytes is not None:
            cmd += ["--max-body-bytes", str(self.max_body_bytes)]
        return cmd

    def start(self) -> Endpoint:
        if self.proc is not None:
            raise RuntimeError("this endpoint is already started")
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        self._log_file = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            self._command(),
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self._finalizer = weakref.finalize(self, _stop, self.proc, self.stop_timeout)
        try:
            self.url = self._read_url()
            self._wait_for_ping()
        except BaseException:
            self.close()
            raise
        return self

    def _read_url(self) -> str:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        first = line[0].strip() if line else ""
        if not first.startswith("listening on http://"):
            self.close()
            raise RuntimeError(f"the endpoint did not start: {first or 'no answer'}\n{self.log}")
        return first.removeprefix("listening on ")

    def _wait_for_ping(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            try:
                if request(self.url + "/ping", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"GET /ping did not answer 200 within {self.start_timeout} s")

    def shutdown(self) -> int:
        """Ask the server to stop with ``POST /admin/shutdown``; wait for it; return its exit code."""
        if self.proc is None:
            raise RuntimeError("this endpoint is not started")
        try:
            if self.proc.poll() is None:
                request(
                    self.url + "/admin/shutdown",
                    "POST",
                    b"",
                    {"Content-Type": "application/json"},
                    timeout=self.stop_timeout,
                )
                self.proc.wait(timeout=self.stop_timeout)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            code = self.close()
        return code

    def close(self) -> int | None:
        """Stop the process if it still runs (SIGTERM, then SIGKILL after ``stop_timeout``); its exit code."""
        if self.proc is None:
            return None
        _stop(self.proc, self.stop_timeout)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._log_file is not None:
            self._log_file.seek(0)
            self.log = self._log_file.read()
            self._log_file.close()
            self._log_file = None
        return self.proc.returncode

    def __enter__(self) -> Endpoint:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
