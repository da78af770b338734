"""A small model server: the contract of a SageMaker inference container, from the standard library.

The pieces mirror SageMaker's deployment workflow on one machine:

- a **model artefact** (``save_artifact`` / ``load_artifact``): a ``model.tar.gz`` holding the
  trained ``state_dict`` (``model.npz``) and a JSON ``config.json`` (architecture, feature count,
  input scaling, version, and the SHA-256 of the weights, checked on loading);
- a **model** = an artefact + this inference code (``ServedModel``);
- an **endpoint configuration** (``EndpointConfig``): production variants, each a name, an artefact
  and a weight, plus the seed of the router;
- an **endpoint**: ``make_server`` builds an ``http.server.ThreadingHTTPServer`` answering
  ``GET /ping``, ``POST /invocations`` (``application/json`` or ``text/csv`` in; JSON or CSV out),
  ``GET /stats``, ``POST /admin/endpoint-config`` (update: load the new artefacts, then swap them
  in atomically) and ``POST /admin/shutdown``.

The endpoint runs as its own process: ``python src/dlnotes/serve.py --config CONFIG.json`` (what
``dlnotes.deploy.Endpoint`` starts). Run that way, as a script, it imports only the standard library
and NumPy, so it starts in about a second; inference is the networks' forward pass written in NumPy
(``ServedModel.logits``), checked against PyTorch in ``tests/test_serve.py``. (``python -m
dlnotes.serve`` works too, but importing the ``dlnotes`` package imports PyTorch.) The process binds
127.0.0.1 (port 0 lets the operating system pick a free port), writes one line, ``listening on
http://127.0.0.1:PORT``, to stdout once it answers, and stops cleanly on ``/admin/shutdown``,
SIGTERM or SIGINT. ``http.server`` is for learning and testing, not for production.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import random
import signal
import sys
import tarfile
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

__all__ = [
    "ARCHITECTURES",
    "VARIANT_HEADER",
    "VERSION_HEADER",
    "TARGET_HEADER",
    "DEFAULT_MAX_BODY_BYTES",
    "build_model",
    "save_artifact",
    "load_artifact",
    "ServedModel",
    "EndpointConfig",
    "Router",
    "RequestError",
    "parse_rows",
    "format_predictions",
    "make_server",
    "main",
]

ARCHITECTURES = ("logistic", "mlp")
VARIANT_HEADER = "X-Invoked-Production-Variant"
VERSION_HEADER = "X-Model-Version"
TARGET_HEADER = "X-Target-Variant"
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
_CONTENT_TYPES = ("application/json", "text/csv")
_CONFIG_KEYS = ("arch", "n_features", "mean", "std", "version", "sha256")


# --------------------------------------------------------------------------------------------
# the model artefact
# --------------------------------------------------------------------------------------------
def _check_arch(arch: object) -> dict:
    if not isinstance(arch, dict):
        raise TypeError(
            f"arch must be a dict such as {{'type': 'mlp', 'hidden': 16}}, got {type(arch).__name__}"
        )
    kind = arch.get("type")
    if kind not in ARCHITECTURES:
        raise ValueError(f"arch['type'] must be one of {', '.join(ARCHITECTURES)}, got {kind!r}")
    if kind == "mlp":
        hidden = arch.get("hidden")
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"an mlp needs arch['hidden'], a positive int, got {hidden!r}")
    return arch


def _check_n_features(n_features: object) -> int:
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
        raise ValueError(f"n_features must be a positive int, got {n_features!r}")
    return n_features


def _shapes(arch: dict, n_features: int) -> dict[str, tuple[int, ...]]:
    """The ``state_dict`` names and shapes of the network ``build_model`` builds."""
    if arch["type"] == "logistic":
        return {"0.weight": (1, n_features), "0.bias": (1,)}
    h = arch["hidden"]
    return {"0.weight": (h, n_features), "0.bias": (h,), "2.weight": (1, h), "2.bias": (1,)}


def build_model(arch: dict, n_features: int):
    """The PyTorch network an artefact describes: one logit per row for a binary classifier.

    ``{"type": "logistic"}`` is one linear layer; ``{"type": "mlp", "hidden": H}`` is
    linear - ReLU - linear with ``H`` hidden units. The output has shape ``(N,)``.
    """
    from torch import nn

    _check_arch(arch)
    _check_n_features(n_features)
    if arch["type"] == "logistic":
        return nn.Sequential(nn.Linear(n_features, 1), nn.Flatten(0))
    h = arch["hidden"]
    return nn.Sequential(nn.Linear(n_features, h), nn.ReLU(), nn.Linear(h, 1), nn.Flatten(0))


def _stats_list(name: str, values: object, n_features: int) -> list[float]:
    if hasattr(values, "detach"):
        values = values.detach().cpu().reshape(-1).tolist()
    try:
        out = [float(v) for v in np.asarray(values, dtype=object).reshape(-1)]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence or tensor of numbers") from None
    if len(out) != n_features:
        raise ValueError(f"{name} has {len(out)} values, expected one per feature ({n_features})")
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"{name} must be finite")
    return out


def save_artifact(
    model: object,
    path: str | Path,
    *,
    arch: dict,
    n_features: int,
    mean: object,
    std: object,
    version: str,
) -> dict:
    """Write ``model`` as a ``model.tar.gz`` artefact at ``path``; return its ``config.json`` dict.

    The archive holds ``model.npz`` (the ``state_dict`` as float32 NumPy arrays, under the same
    names) and ``config.json`` (``arch``, ``n_features``, the per-feature ``mean`` and ``std``
    that standardise raw inputs, ``version`` and ``sha256``, the SHA-256 of ``model.npz``).
    ``model`` must be a ``torch.nn.Module`` with the architecture ``build_model(arch,
    n_features)`` builds. NumPy arrays, not a pickle, so the server needs neither PyTorch nor
    ``pickle`` to read them.
    """
    if not hasattr(model, "state_dict") or not callable(model.state_dict):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(version, str) or not version:
        raise ValueError(f"version must be a non-empty str, got {version!r}")
    _check_arch(arch)
    _check_n_features(n_features)
    state = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    expected = _shapes(arch, n_features)
    found = {k: v.shape for k, v in state.items()}
    if found != expected:
        raise ValueError(
            f"model does not match arch {arch} with {n_features} features: "
            f"its state_dict has {found}, expected {expected}"
        )
    std_list = _stats_list("std", std, n_features)
    if any(s <= 0 for s in std_list):
        raise ValueError("std must be positive")
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    weights = buffer.getvalue()
    config = {
        "arch": dict(arch),
        "n_features": n_features,
        "mean": _stats_list("mean", mean, n_features),
        "std": std_list,
        "version": version,
        "sha256": hashlib.sha256(weights).hexdigest(),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in [("model.npz", weights), ("config.json", json.dumps(config, indent=2).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return config


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -z))


@dataclass
class ServedModel:
    """A model ready to answer: its weights, input scaling and version; inference in NumPy."""

    arch: dict
    weights: dict[str, np.ndarray]
    mean: np.ndarray
    std: np.ndarray
    n_features: int
    version: str
    sha256: str

    def logits(self, rows: object) -> np.ndarray:
        """The logit of each raw (unstandardised) row: the forward pass of ``build_model``."""
        x = np.asarray(rows, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"rows must have shape (N, {self.n_features}), got {x.shape}")
        h = (x - self.mean) / self.std
        w = self.weights
        if self.arch["type"] == "mlp":
            h = np.maximum(h @ w["0.weight"].T + w["0.bias"], 0)
            return (h @ w["2.weight"].T + w["2.bias"])[:, 0]
        return (h @ w["0.weight"].T + w["0.bias"])[:, 0]

    def predict(self, rows: object) -> list[float]:
        """The probability of the positive class for each raw row, as Python floats."""
        return _sigmoid(self.logits(rows)).astype(np.float32).tolist()

    def to_torch(self):
        """The same network as a PyTorch module in eval mode (standardise inputs with mean / std)."""
        import torch

        network = build_model(self.arch, self.n_features)
        network.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in self.weights.items()})
        return network.eval()


def load_artifact(path: str | Path) -> ServedModel:
    """Read a ``model.tar.gz`` written by ``save_artifact``; the weights' SHA-256 is checked.

    Anything that is not such an artefact (not a gzip tar, other members, a ``config.json`` that is
    not an object with the keys ``save_artifact`` writes, weights of the wrong shapes) raises
    ``ValueError``; a missing file ``FileNotFoundError``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model artefact at {path}")
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {m.name: m for m in tar.getmembers()}
            if set(members) != {"model.npz", "config.json"} or not all(m.isfile() for m in members.values()):
                raise ValueError(
                    f"{path} must hold the files model.npz and config.json, found {sorted(members)}"
                )
            weights = tar.extractfile(members["model.npz"]).read()
            config = json.loads(tar.extractfile(members["config.json"]).read())
    except (
        tarfile.TarError,
        OSError,
        EOFError,
        UnicodeDecodeError,
        json.JSONDecodeError,
        RecursionError,
    ) as error:
        raise ValueError(f"{path} is not a readable model artefact: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: config.json must hold a JSON object, got {type(config).__name__}")
    missing = [key for key in _CONFIG_KEYS if key not in config]
    if missing:
        raise ValueError(f"{path}: config.json lacks {', '.join(missing)}")
    digest = hashlib.sha256(weights).hexdigest()
    if digest != config["sha256"]:
        raise ValueError(f"{path}: the weights' SHA-256 {digest[:12]}... does not match config.json")
    version = config["version"]
    if not isinstance(version, str) or not version:
        raise ValueError(f"{path}: the version in config.json must be a non-empty string, got {version!r}")
    try:
        arch, n = _check_arch(config["arch"]), _check_n_features(config["n_features"])
        mean = np.array(_stats_list("mean", config["mean"], n), dtype=np.float32)
        std = np.array(_stats_list("std", config["std"], n), dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: config.json is invalid: {error}") from None
    if not (std > 0).all():
        raise ValueError(f"{path}: config.json is invalid: std must be positive")
    try:
        with np.load(io.BytesIO(weights), allow_pickle=False) as npz:
            state = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, AttributeError) as error:
        raise ValueError(f"{path}: model.npz is not a NumPy .npz archive: {error}") from None
    expected = _shapes(arch, n)
    if {k: v.shape for k, v in state.items()} != expected:
        raise ValueError(f"{path}: the weights do not match arch {arch} with {n} features")
    return ServedModel(
        arch=arch, weights=state, mean=mean, std=std, n_features=n, version=version, sha256=digest
    )


# --------------------------------------------------------------------------------------------
# endpoint configuration and routing
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EndpointConfig:
    """An endpoint configuration: ``name``, the router's ``seed`` and its production ``variants``.

    Each variant is a dict ``{"name": str, "artifact": path, "weight": number >= 0}``; names must
    be unique and the weights must sum to more than 0. A request goes to variant ``v`` with
    probability ``weight_v / sum of the weights``.
    """

    name: str
    variants: tuple[dict, ...]
    seed: int = 0

    @classmethod
    def from_dict(cls, spec: object) -> EndpointConfig:
        """Validate a JSON-like dict ``{"name": ..., "seed": ..., "variants": [...]}``."""
        if not isinstance(spec, dict):
            raise TypeError(f"an endpoint configuration must be a JSON object, got {type(spec).__name__}")
        unknown = set(spec) - {"name", "seed", "variants"}
        if unknown:
            raise ValueError(f"unknown endpoint configuration keys: {sorted(unknown)}")
        name, seed, variants = spec.get("name"), spec.get("seed", 0), spec.get("variants")
        if not isinstance(name, str) or not name:
            raise ValueError(f"the endpoint configuration needs a non-empty 'name', got {name!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"'seed' must be a non-negative int, got {seed!r}")
        if not isinstance(variants, list) or not variants:
            raise ValueError("'variants' must be a non-empty list of production variants")
        checked = []
        for i, v in enumerate(variants):
            if not isinstance(v, dict) or set(v) != {"name", "artifact", "weight"}:
                raise ValueError(f"variant {i} must be an object with exactly name, artifact and weight")
            if not isinstance(v["name"], str) or not v["name"]:
                raise ValueError(f"variant {i} needs a non-empty name, got {v['name']!r}")
            w = v["weight"]
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
                raise ValueError(f"variant {v['name']!r}: weight must be a finite number >= 0, got {w!r}")
            if not isinstance(v["artifact"], str):
                raise ValueError(f"variant {v['name']!r}: artifact must be a path string")
            checked.append({"name": v["name"], "artifact": v["artifact"], "weight": float(w)})
        names = [v["name"] for v in checked]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique, got {names}")
        if sum(v["weight"] for v in checked) <= 0:
            raise ValueError("the variant weights must sum to more than 0")
        return cls(name=name, variants=tuple(checked), seed=seed)

    @classmethod
    def from_file(cls, path: str | Path) -> EndpointConfig:
        """Read and validate a JSON endpoint configuration file."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no endpoint configuration at {path}")
        try:
            spec = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
        except RecursionError:
            raise ValueError(f"{path}: JSON nested too deeply") from None
        return cls.from_dict(spec)

    def to_dict(self) -> dict:
        return {"name": self.name, "seed": self.seed, "variants": [dict(v) for v in self.variants]}


class Router:
    """The production variants of one endpoint configuration, loaded, with a seeded random router.

    ``choose()`` draws a variant with probability proportional to its weight from
    ``random.Random(seed)`` under a lock, so the counts after ``n`` draws are the same in every
    run, whatever the order in which concurrent requests arrive. ``choose(target)`` picks a variant
    by name (SageMaker's ``TargetVariant``) without a draw.
    """

    def __init__(self, config: EndpointConfig):
        if not isinstance(config, EndpointConfig):
            raise TypeError(f"config must be an EndpointConfig, got {type(config).__name__}")
        self.config = config
        self.models = {v["name"]: load_artifact(v["artifact"]) for v in config.variants}
        sizes = {name: m.n_features for name, m in self.models.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(
                f"the variants of one endpoint must take the same number of features, got {sizes}"
            )
        self.n_features = next(iter(sizes.values()))
        self.names = [v["name"] for v in config.variants]
        self.weights = [v["weight"] for v in config.variants]
        self.counts = Counter({name: 0 for name in self.names})
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()

    def choose(self, target: str | None = None) -> str:
        with self._lock:
            if target is not None:
                if target not in self.models:
                    raise KeyError(target)
                name = target
            else:
                name = self._rng.choices(self.names, weights=self.weights)[0]
            self.counts[name] += 1
            return name

    def stats(self) -> dict:
        with self._lock:
            return {
                name: {"version": self.models[name].version, "weight": w, "invocations": self.counts[name]}
                for name, w in zip(self.names, self.weights)
            }


# --------------------------------------------------------------------------------------------
# request bodies
# --------------------------------------------------------------------------------------------
class RequestError(Exception):
    """A request the endpoint refuses: an HTTP ``status`` (4xx) and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RequestError(400, f"{where}: {value!r} is not a number")
    try:
        x = float(value)
    except ValueError:
        raise RequestError(400, f"{where}: {value!r} is not a number") from None
    if not math.isfinite(x):
        raise RequestError(400, f"{where}: {value!r} is not a finite number")
    return x


def parse_rows(body: bytes, content_type: str, n_features: int) -> list[list[float]]:
    """The rows of a request body, each a list of ``n_features`` floats, or a ``RequestError``.

    ``application/json``: ``{"instances": [[...], ...]}``, a list of rows, or one flat row.
    ``text/csv``: one comma-separated row per line (blank lines are skipped).
    Malformed bodies and non-numbers give 400, a wrong number of values 422, another content
    type 415.
    """
    media = content_type.split(";")[0].strip().lower()
    if media not in _CONTENT_TYPES:
        raise RequestError(415, f"Content-Type must be application/json or text/csv, got {content_type!r}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(400, "the body is not UTF-8 text") from None
    if media == "application/json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise RequestError(400, f"malformed JSON: {error}") from None
        except RecursionError:
            raise RequestError(400, "JSON nested too deeply") from None
        if isinstance(data, dict):
            if "instances" not in data:
                raise RequestError(400, 'a JSON object body needs the key "instances"')
            data = data["instances"]
        if not isinstance(data, list) or not data:
            raise RequestError(400, "the JSON body must hold a non-empty list of rows")
        if not isinstance(data[0], list):
            data = [data]
        rows = []
        for i, row in enumerate(data, start=1):
            if not isinstance(row, list):
                raise RequestError(400, f"row {i} is not a list of numbers")
            rows.append([_number(v, f"row {i}") for v in row])
    else:
        lines = [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if not lines:
            raise RequestError(400, "the CSV body has no rows")
        try:
            parsed = list(csv.reader([line for _, line in lines]))
        except csv.Error as error:
            raise RequestError(400, f"malformed CSV: {error}") from None
        rows = [[_number(v.strip(), f"line {i}") for v in row] for (i, _), row in zip(lines, parsed)]
    for i, row in enumerate(rows, start=1):
        if len(row) != n_features:
            raise RequestError(422, f"row {i} has {len(row)} values, the model expects {n_features}")
    return rows


def format_predictions(predictions: list[float], accept: str) -> tuple[bytes, str]:
    """The response body and its content type: JSON ``{"predictions": [...]}`` or one value a line."""
    media = (accept or "application/json").split(",")[0].split(";")[0].strip().lower()
    if media in ("application/json", "*/*", ""):
        return json.dumps({"predictions": predictions}).encode(), "application/json"
    if media == "text/csv":
        return "".join(f"{p!r}\n" for p in predictions).encode(), "text/csv"
    raise RequestError(406, f"Accept must be application/json or text/csv, got {accept!r}")


# --------------------------------------------------------------------------------------------
# the HTTP server
# --------------------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    # the listen backlog: socketserver's default of 5 drops connection attempts beyond it under a
    # burst, and the client's retry after about a second shows up as a one-second latency
    request_queue_size = 128

    def __init__(self, address, router: Router, max_body_bytes: int, quiet: bool):
        super().__init__(address, _Handler)
        self.router = router
        self.max_body_bytes = max_body_bytes
        self.quiet = quiet
        self.status_counts: Counter = Counter()
        self.swap_lock = threading.Lock()
        self.stats_lock = threading.Lock()

    def current(self) -> Router:
        with self.swap_lock:
            return self.router

    def update(self, router: Router) -> None:
        with self.swap_lock:
            self.router = router

    def stop_soon(self) -> None:
        threading.Thread(target=self.shutdown, daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    server_version = "dlnotes-serve/1.0"
    # seconds a connection may stay silent: a stalled body is answered 408, an idle connection closed
    timeout = 10

    def log_message(self, format: str, *args) -> None:
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} [{self.log_date_time_string()}] {format % args}\n")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        with self.server.stats_lock:
            self.server.status_counts[str(status)] += 1

    def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's errors (501 for an unknown method; 400, 414, 431 for a malformed request
        line or headers) as the same JSON body as ``_error``, counted in ``/stats``; the connection
        is closed, as the base class does. The request line may not be parsed yet."""
        short = self.responses.get(code, ("Error", ""))[0]
        self.log_error("code %d, message %s", code, message or short)
        body = json.dumps({"error": message or short}).encode()
        self.send_response(code)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)
        with self.server.stats_lock:
            self.server.status_counts[str(code)] += 1

    def _discard(self, n: int) -> None:
        """Read and drop up to ``n`` unread body bytes, so the client can read our answer."""
        left = min(n, 4 * self.server.max_body_bytes)
        try:
            while left > 0:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError(411, "a Content-Length header is required")
        try:
            n = int(length)
        except ValueError:
            raise RequestError(400, f"Content-Length must be an integer, got {length!r}") from None
        if n < 0:
            raise RequestError(400, f"Content-Length must not be negative, got {n}")
        if n > self.server.max_body_bytes:
            self.close_connection = True
            self._discard_after = n
            raise RequestError(
                413,
                f"the body has {n} bytes, the limit of this endpoint is {self.server.max_body_bytes} bytes",
            )
        try:
            body = self.rfile.read(n)
        except TimeoutError:
            self.close_connection = True
            raise RequestError(
                408, f"the body did not arrive within {self.timeout} s (Content-Length says {n} bytes)"
            ) from None
        if len(body) != n:
            self.close_connection = True
            raise RequestError(400, f"the body has {len(body)} bytes, Content-Length says {n}")
        return body

    def _dispatch(self, method: str) -> None:
        self._discard_after = 0
        path = self.path.split("?")[0]
        routes = {
            "/ping": ("GET", self._ping),
            "/stats": ("GET", self._stats),
            "/invocations": ("POST", self._invocations),
            "/admin/endpoint-config": ("POST", self._update),
            "/admin/shutdown": ("POST", self._shutdown),
        }
        try:
            if path not in routes:
                raise RequestError(404, f"no such path {path!r}: use /ping or /invocations")
            allowed, handler = routes[path]
            if method != allowed:
                raise RequestError(405, f"{path} accepts {allowed}, not {method}")
            handler()
        except RequestError as error:
            self._error(error.status, error.message)
        except Exception as error:
            sys.stderr.write(f"internal error on {method} {path}: {type(error).__name__}: {error}\n")
            self._error(500, "internal error: the endpoint could not answer this request")
        if self._discard_after:
            self._discard(self._discard_after)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def _ping(self) -> None:
        self._json(200, {"status": "healthy"})

    def _stats(self) -> None:
        router = self.server.current()
        with self.server.stats_lock:
            status = dict(sorted(self.server.status_counts.items()))
        self._json(200, {"endpoint_config": router.config.name, "variants": router.stats(), "status": status})

    def _invocations(self) -> None:
        body = self._read_body()
        router = self.server.current()
        target = self.headers.get(TARGET_HEADER)
        rows = parse_rows(body, self.headers.get("Content-Type", ""), router.n_features)
        format_predictions([], self.headers.get("Accept", ""))
        try:
            name = router.choose(target)
        except KeyError:
            raise RequestError(
                400, f"unknown target variant {target!r}: choose one of {router.names}"
            ) from None
        model = router.models[name]
        predictions = model.predict(rows)
        payload, content_type = format_predictions(predictions, self.headers.get("Accept", ""))
        self._send(200, payload, content_type, {VARIANT_HEADER: name, VERSION_HEADER: model.version})

    def _update(self) -> None:
        body = self._read_body()
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
            raise RequestError(415, "an endpoint configuration must be sent as application/json")
        try:
            config = EndpointConfig.from_dict(json.loads(body))
            router = Router(config)
        except json.JSONDecodeError as error:
            raise RequestError(400, f"malformed JSON: {error}") from None
        except RecursionError:
            raise RequestError(400, "JSON nested too deeply") from None
        except (TypeError, ValueError, FileNotFoundError) as error:
            raise RequestError(
                400, f"endpoint configuration refused, the old one still serves: {error}"
            ) from None
        self.server.update(router)
        self._json(200, {"endpoint_config": config.name, "variants": router.names})

    def _shutdown(self) -> None:
        self._read_body()
        self._json(200, {"status": "shutting down"})
        self.server.stop_soon()


def make_server(
    config: EndpointConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    quiet: bool = True,
) -> _Server:
    """Load the variants of ``config`` and bind an HTTP server to ``host:port`` (0: a free port).

    Call ``serve_forever()`` on the result (in a thread, or in the main thread of its own
    process), and ``shutdown()`` then ``server_close()`` to stop it; ``server_address`` holds the
    port. In-flight requests finish before ``server_close()`` returns.
    """
    if not isinstance(config, EndpointConfig):
        raise TypeError(f"config must be an EndpointConfig, got {type(config).__name__}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        raise ValueError(f"port must be an int in [0, 65535], got {port!r}")
    if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be a positive int, got {max_body_bytes!r}")
    return _Server((host, port), Router(config), max_body_bytes, quiet)


def _watch_parent(server: _Server, parent: int) -> None:
    """Stop ``server`` once the process that started it is gone (it gets a new parent then)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    sys.stderr.write("the parent process is gone: stopping\n")
    server.stop_soon()


def main(argv: list[str] | None = None) -> int:
    """Run an endpoint until ``/admin/shutdown``, SIGTERM or SIGINT; return the exit code 0."""
    parser = argparse.ArgumentParser(prog="python -m dlnotes.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="endpoint configuration (JSON file)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: let the operating system choose")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--log-requests", action="store_true", help="log every request to stderr")
    parser.add_argument("--exit-with-parent", action="store_true", help="stop when the parent process dies")
    args = parser.parse_args(argv)
    server = make_server(
        EndpointConfig.from_file(args.config),
        args.host,
        args.port,
        args.max_body_bytes,
        not args.log_requests,
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: server.stop_soon())
    if args.exit_with_parent:
        threading.Thread(target=_watch_parent, args=(server, os.getppid()), daemon=True).start()
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    started = time.monotonic()
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    sys.stderr.write(f"stopped cleanly after {time.monotonic() - started:.1f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
