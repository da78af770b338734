"""The model server (dlnotes.serve) and its client (dlnotes.deploy): artefacts, routes, errors, routing.

Most tests run the server in a thread of the test process (one server shared by the module, so
checks on ``/stats`` compare counts before and after); a few start it as its own process through
``deploy.Endpoint`` (one process shared by the tests that only call it). Every server and process
is stopped in a ``finally``, a fixture's teardown or a context manager.
"""

import hashlib
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from dlnotes import deploy, serve

N_FEATURES = 5


def _trained(kind, seed):
    torch.manual_seed(seed)
    arch = {"type": "logistic"} if kind == "logistic" else {"type": "mlp", "hidden": 4}
    return serve.build_model(arch, N_FEATURES), arch


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    root = tmp_path_factory.mktemp("artefacts")
    paths = {}
    for name, kind, seed in [("a", "logistic", 0), ("b", "mlp", 1)]:
        model, arch = _trained(kind, seed)
        mean, std = torch.arange(N_FEATURES, dtype=torch.float32), torch.full((N_FEATURES,), 2.0)
        serve.save_artifact(
            model,
            root / f"{name}.tar.gz",
            arch=arch,
            n_features=N_FEATURES,
            mean=mean,
            std=std,
            version=f"{name}-1",
        )
        paths[name] = str(root / f"{name}.tar.gz")
    return paths


def _config(artefacts, weights, seed=0, name="cfg"):
    variants = [{"name": k, "artifact": artefacts[k], "weight": w} for k, w in weights.items()]
    return serve.EndpointConfig.from_dict({"name": name, "seed": seed, "variants": variants})


class _Running:
    def __init__(self, config, **kwargs):
        self.server = serve.make_server(config, **kwargs)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    def __enter__(self):
        self.thread.start()
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


MAX_BODY = 200_000


@pytest.fixture(scope="module")
def url(artefacts):
    with _Running(_config(artefacts, {"a": 1.0}), max_body_bytes=MAX_BODY) as u:
        yield u


def _status_count(url, status):
    return deploy.request(url + "/stats").json()["status"].get(str(status), 0)


def _host_port(url):
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _raw(url, data, close_write=True, timeout=10):
    """Send raw bytes on one connection; return (status, headers text, body) of the answer."""
    with socket.create_connection(_host_port(url), timeout=timeout) as conn:
        conn.sendall(data)
        if close_write:
            conn.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    if not received.startswith(b"HTTP/"):  # an HTTP/0.9 answer: the body alone
        return None, "", received
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), head.decode("latin-1"), body


def _write_artifact(path, weights, config_bytes):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in [("model.npz", weights), ("config.json", config_bytes)]:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


ROWS = np.random.default_rng(0).normal(size=(7, N_FEATURES)).round(3).tolist()


# --------------------------------------------------------------------------------------------
# artefacts
# --------------------------------------------------------------------------------------------
def test_artifact_round_trip_predicts_like_the_model(artefacts, tmp_path):
    model, arch = _trained("mlp", 1)
    loaded = serve.load_artifact(artefacts["b"])
    x = torch.tensor(ROWS)
    expected = torch.sigmoid(model((x - torch.arange(N_FEATURES)) / 2.0)).tolist()
    np.testing.assert_allclose(loaded.predict(ROWS), expected, rtol=1e-6)
    assert loaded.version == "b-1" and not loaded.to_torch().training
    with tarfile.open(artefacts["b"]) as tar:
        assert sorted(tar.getnames()) == ["config.json", "model.npz"]
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.to_torch().state_dict()[name], value)


def test_logistic_artifact_matches_sklearn_decision_function():
    x = np.random.default_rng(1).normal(size=(40, N_FEATURES))
    t = (x[:, 0] + x[:, 1] > 0).astype(int)
    sk = LogisticRegression().fit(x, t)
    model = serve.build_model({"type": "logistic"}, N_FEATURES)
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(sk.coef_, dtype=torch.float32))
        model[0].bias.copy_(torch.tensor(sk.intercept_, dtype=torch.float32))
    served = serve.ServedModel(
        {"type": "logistic"},
        {k: v.numpy() for k, v in model.state_dict().items()},
        np.zeros(N_FEATURES, np.float32),
        np.ones(N_FEATURES, np.float32),
        N_FEATURES,
        "1",
        "",
    )
    np.testing.assert_allclose(served.predict(x.tolist()), sk.predict_proba(x)[:, 1], rtol=1e-5)


def test_tampered_artifact_is_refused(artefacts, tmp_path):
    with tarfile.open(artefacts["a"]) as tar:
        config = json.loads(tar.extractfile("config.json").read())
        weights = tar.extractfile("model.npz").read()
    config["sha256"] = "0" * 64
    bad = _write_artifact(tmp_path / "bad.tar.gz", weights, json.dumps(config).encode())
    with pytest.raises(ValueError, match="SHA-256"):
        serve.load_artifact(bad)


def test_artifact_with_a_valid_hash_but_a_bad_config_is_refused(artefacts, tmp_path, url):
    with tarfile.open(artefacts["a"]) as tar:
        config = json.loads(tar.extractfile("config.json").read())
        weights = tar.extractfile("model.npz").read()
    digest = hashlib.sha256(weights).hexdigest()
    no_arch = {k: v for k, v in config.items() if k != "arch"}
    for i, (bad_config, match) in enumerate(
        [
            ([digest], "must hold a JSON object"),
            (no_arch, "lacks arch"),
            ({"sha256": digest}, "lacks arch, n_features, mean, std, version"),
            ({**config, "mean": [0.0]}, "one per feature"),
            ({**config, "arch": "mlp"}, "arch must be a dict"),
            ({**config, "std": [0.0] * N_FEATURES}, "std must be positive"),
            ({**config, "version": 3}, "version"),
            ({**config, "arch": {"type": "mlp", "hidden": 2}}, "do not match"),
        ]
    ):
        path = _write_artifact(tmp_path / f"bad{i}.tar.gz", weights, json.dumps(bad_config).encode())
        with pytest.raises(ValueError, match=match):
            serve.load_artifact(path)
    path = _write_artifact(tmp_path / "not-npz.tar.gz", b"not an npz", json.dumps(config).encode())
    with pytest.raises(ValueError, match="SHA-256"):
        serve.load_artifact(path)
    not_npz = {**config, "sha256": hashlib.sha256(b"not an npz").hexdigest()}
    path = _write_artifact(tmp_path / "not-npz.tar.gz", b"not an npz", json.dumps(not_npz).encode())
    with pytest.raises(ValueError, match="not a NumPy .npz archive"):
        serve.load_artifact(path)
    # the endpoint refuses such an artefact with a 400 and keeps serving the old configuration
    spec = {
        "name": "bad",
        "variants": [{"name": "x", "artifact": str(tmp_path / "bad0.tar.gz"), "weight": 1}],
    }
    answer = deploy.request(
        url + "/admin/endpoint-config",
        "POST",
        json.dumps(spec).encode(),
        {"Content-Type": "application/json"},
    )
    assert answer.status == 400 and "must hold a JSON object" in answer.json()["error"]
    assert deploy.invoke(url, ROWS[:1]).variant == "a"


def test_artifact_bad_input(tmp_path):
    model = serve.build_model({"type": "logistic"}, 3)
    ok = {"arch": {"type": "logistic"}, "n_features": 3, "mean": [0, 0, 0], "std": [1, 1, 1], "version": "1"}
    with pytest.raises(TypeError, match="nn.Module"):
        serve.save_artifact("model", tmp_path / "m.tar.gz", **ok)
    with pytest.raises(ValueError, match="does not match"):
        serve.save_artifact(model, tmp_path / "m.tar.gz", **{**ok, "arch": {"type": "mlp", "hidden": 2}})
    with pytest.raises(ValueError, match="one per feature"):
        serve.save_artifact(model, tmp_path / "m.tar.gz", **{**ok, "mean": [0, 0]})
    with pytest.raises(ValueError, match="std must be positive"):
        serve.save_artifact(model, tmp_path / "m.tar.gz", **{**ok, "std": [1, 0, 1]})
    with pytest.raises(ValueError, match="version"):
        serve.save_artifact(model, tmp_path / "m.tar.gz", **{**ok, "version": ""})
    with pytest.raises(ValueError, match="arch\\['type'\\]"):
        serve.build_model({"type": "cnn"}, 3)
    with pytest.raises(TypeError, match="arch must be a dict"):
        serve.build_model("mlp", 3)
    with pytest.raises(FileNotFoundError, match="no model artefact"):
        serve.load_artifact(tmp_path / "missing.tar.gz")
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar file")
    with pytest.raises(ValueError, match="not a readable model artefact"):
        serve.load_artifact(tmp_path / "junk.tar.gz")


# --------------------------------------------------------------------------------------------
# endpoint configuration and routing
# --------------------------------------------------------------------------------------------
def test_endpoint_config_bad_input(artefacts, tmp_path):
    good = {"name": "a", "artifact": artefacts["a"], "weight": 1}
    for spec, match in [
        ([good], "JSON object"),
        ({"name": "c", "variants": []}, "non-empty list"),
        ({"name": "", "variants": [good]}, "'name'"),
        ({"name": "c", "variants": [good], "extra": 1}, "unknown"),
        ({"name": "c", "variants": [{**good, "weight": -1}]}, "weight"),
        ({"name": "c", "variants": [{**good, "weight": 0}]}, "sum to more than 0"),
        ({"name": "c", "variants": [good, good]}, "unique"),
        ({"name": "c", "seed": -1, "variants": [good]}, "seed"),
        ({"name": "c", "variants": [{"name": "a", "weight": 1}]}, "exactly name, artifact and weight"),
    ]:
        error = TypeError if isinstance(spec, list) else ValueError
        with pytest.raises(error, match=match):
            serve.EndpointConfig.from_dict(spec)
    with pytest.raises(FileNotFoundError, match="no endpoint configuration"):
        serve.EndpointConfig.from_file(tmp_path / "missing.json")
    with pytest.raises(FileNotFoundError, match="no model artefact"):
        serve.Router(
            serve.EndpointConfig.from_dict({"name": "c", "variants": [{**good, "artifact": "nope"}]})
        )


def test_router_counts_are_seeded_and_follow_the_weights(artefacts):
    config = _config(artefacts, {"a": 0.8, "b": 0.2}, seed=3)
    first, second = serve.Router(config), serve.Router(config)
    draws = [first.choose() for _ in range(2000)]
    assert draws == [second.choose() for _ in range(2000)]
    counts = Counter(draws)
    assert sum(counts.values()) == 2000 and abs(counts["a"] / 2000 - 0.8) < 0.03
    assert first.choose("b") == "b" and first.stats()["b"]["invocations"] == counts["b"] + 1
    with pytest.raises(KeyError):
        first.choose("c")


# --------------------------------------------------------------------------------------------
# the HTTP endpoint, in a thread
# --------------------------------------------------------------------------------------------
def test_json_and_csv_give_the_model_predictions(url, artefacts):
    expected = serve.load_artifact(artefacts["a"]).predict(ROWS)
    for content_type in ["application/json", "text/csv"]:
        for accept in ["application/json", "text/csv"]:
            answer = deploy.invoke(url, ROWS, content_type=content_type, accept=accept)
            np.testing.assert_allclose(answer.predictions, expected, rtol=1e-6)
            assert answer.variant == "a" and answer.version == "a-1"
    flat = deploy.request(
        url + "/invocations", "POST", json.dumps(ROWS[0]).encode(), {"Content-Type": "application/json"}
    )
    assert flat.status == 200 and len(flat.json()["predictions"]) == 1
    assert deploy.request(url + "/ping").status == 200


@pytest.mark.parametrize(
    "method, path, body, headers, status, message",
    [
        ("POST", "/invocations", b"{not json", {"Content-Type": "application/json"}, 400, "malformed JSON"),
        (
            "POST",
            "/invocations",
            b"1,2,x,4,5\n",
            {"Content-Type": "text/csv"},
            400,
            "line 1: 'x' is not a number",
        ),
        ("POST", "/invocations", b"[[1, 2, NaN, 4, 5]]", {"Content-Type": "application/json"}, 400, "finite"),
        ("POST", "/invocations", b'{"rows": []}', {"Content-Type": "application/json"}, 400, "instances"),
        ("POST", "/invocations", b"1,2,3\n", {"Content-Type": "text/csv"}, 422, "row 1 has 3 values"),
        ("POST", "/invocations", b"1,2,3,4,5", {"Content-Type": "text/plain"}, 415, "Content-Type"),
        (
            "POST",
            "/invocations",
            b"1,2,3,4,5",
            {"Content-Type": "text/csv", "Accept": "image/png"},
            406,
            "Accept",
        ),
        (
            "POST",
            "/invocations",
            b"1,2,3,4,5",
            {"Content-Type": "text/csv", serve.TARGET_HEADER: "z"},
            400,
            "unknown target variant",
        ),
        (
            "POST",
            "/invocations",
            b"1," * MAX_BODY,
            {"Content-Type": "text/csv"},
            413,
            "limit of this endpoint",
        ),
        (
            "POST",
            "/invocations",
            b"[" * 100_000,
            {"Content-Type": "application/json"},
            400,
            "JSON nested too deeply",
        ),
        (
            "POST",
            "/admin/endpoint-config",
            b"[" * 100_000,
            {"Content-Type": "application/json"},
            400,
            "JSON nested too deeply",
        ),
        ("GET", "/predict", None, {}, 404, "no such path"),
        ("GET", "/invocations", None, {}, 405, "accepts POST"),
        ("DELETE", "/ping", None, {}, 405, "accepts GET"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_message_and_the_server_keeps_serving(
    url, method, path, body, headers, status, message
):
    before = _status_count(url, status)
    answer = deploy.request(url + path, method, body, headers)
    assert answer.status == status
    assert message in answer.json()["error"]
    assert "Traceback" not in answer.body.decode()
    assert deploy.request(url + "/ping").status == 200
    assert _status_count(url, status) == before + 1


def test_missing_content_length_is_411(url):
    conn = http.client.HTTPConnection(*_host_port(url), timeout=5)
    conn.putrequest("POST", "/invocations")
    conn.putheader("Content-Type", "text/csv")
    conn.endheaders()
    answer = conn.getresponse()
    assert answer.status == 411 and "Content-Length" in json.loads(answer.read())["error"]
    conn.close()


def test_errors_of_the_base_class_are_json_and_counted(url):
    before = _status_count(url, 501)
    conn = http.client.HTTPConnection(*_host_port(url), timeout=5)
    conn.request("UPDATE", "/invocations", body="1,2,3,4,5", headers={"Content-Type": "text/csv"})
    answer = conn.getresponse()
    assert answer.status == 501 and answer.reason == "Not Implemented"
    assert answer.getheader("Content-Type") == "application/json"
    assert answer.getheader("Connection") == "close"
    assert json.loads(answer.read()) == {"error": "Unsupported method ('UPDATE')"}
    conn.close()
    assert _status_count(url, 501) == before + 1
    # errors raised while the request line and headers are parsed, before any handler runs
    for data, status, message in [
        (b"GET /ping extra HTTP/1.1\r\n\r\n", 400, "Bad request syntax"),
        (b"GET /" + b"x" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "Request-URI Too Long"),
        (b"GET /ping HTTP/1.1\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", 431, "Too many headers"),
    ]:
        before = _status_count(url, status)
        got, head, body = _raw(url, data)
        assert got == status and "Content-Type: application/json" in head, head
        assert message in json.loads(body)["error"]
        assert _status_count(url, status) == before + 1
    # a request line without a valid version is answered the HTTP/0.9 way, without a status line
    before = _status_count(url, 400)
    got, _, body = _raw(url, b"GET /ping HTTP/one\r\n\r\n")
    assert got is None and json.loads(body) == {"error": "Bad request version ('HTTP/one')"}
    assert _status_count(url, 400) == before + 1
    assert deploy.request(url + "/ping").status == 200


def test_truncated_and_stalled_bodies(url, monkeypatch):
    csv_body = "".join(",".join(str(v) for v in row) + "\n" for row in ROWS[:4]).encode()
    head = f"POST /invocations HTTP/1.1\r\nContent-Type: text/csv\r\nContent-Length: {len(csv_body)}\r\n\r\n"
    cut = csv_body[: csv_body.index(b"\n") + 1]  # the first row, cut at a line boundary
    status, _, body = _raw(url, head.encode() + cut)
    assert status == 400
    assert json.loads(body)["error"] == f"the body has {len(cut)} bytes, Content-Length says {len(csv_body)}"
    # a client that stops sending (but keeps the connection open) gets 408 after the handler's timeout
    monkeypatch.setattr(serve._Handler, "timeout", 0.3)
    status, _, body = _raw(url, head.encode() + cut, close_write=False)
    assert status == 408 and "did not arrive within 0.3 s" in json.loads(body)["error"]
    monkeypatch.undo()
    status, _, body = _raw(url, head.encode() + csv_body)
    assert status == 200 and len(json.loads(body)["predictions"]) == 4


def test_requests_ignore_proxy_settings(url, monkeypatch):
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))  # bound but not listening: connections to it are refused
        proxy = f"http://127.0.0.1:{dead.getsockname()[1]}"
        for name in ["no_proxy", "NO_PROXY"]:
            monkeypatch.delenv(name, raising=False)
        for name in ["http_proxy", "HTTP_PROXY"]:
            monkeypatch.setenv(name, proxy)
        # urlopen's opener, built on its first call, reads the proxy settings then: start afresh
        monkeypatch.setattr(urllib.request, "_opener", None)
        # Check: an opener that honours the environment goes to the dead proxy
        with pytest.raises(urllib.error.URLError):
            urllib.request.build_opener().open(url + "/ping", timeout=5)
        assert deploy.request(url + "/ping").status == 200
        np.testing.assert_allclose(
            deploy.invoke(url, ROWS[:2]).predictions, deploy.invoke(url, ROWS).predictions[:2]
        )


def test_invoke_raises_endpoint_error(url):
    with pytest.raises(deploy.EndpointError, match="HTTP 422: row 1 has 2 values") as caught:
        deploy.invoke(url, [[1.0, 2.0]])
    assert caught.value.status == 422
    with pytest.raises(ValueError, match="content_type"):
        deploy.invoke(url, ROWS, content_type="text/plain")
    with pytest.raises(ValueError, match="http://"):
        deploy.invoke("localhost:80", ROWS)
    with pytest.raises(TypeError, match="rows of numbers"):
        deploy.invoke(url, [["a", "b"]])


def test_routing_counts_in_stats_are_reproducible(artefacts):
    seen = []
    for _ in range(2):
        with _Running(_config(artefacts, {"a": 0.5, "b": 0.5}, seed=7)) as u:
            calls = deploy.latency_burst(u, ROWS, n_requests=60, concurrency=4)
            stats = deploy.request(u + "/stats").json()
        assert all(c.status == 200 for c in calls)
        counts = {k: v["invocations"] for k, v in stats["variants"].items()}
        assert sum(counts.values()) == 60 and counts == dict(Counter(c.variant for c in calls))
        seen.append(counts)
    assert seen[0] == seen[1]
    router = serve.Router(_config(artefacts, {"a": 0.5, "b": 0.5}, seed=7))
    expected = Counter(router.choose() for _ in range(60))
    assert seen[0] == dict(expected)


def test_update_endpoint_with_no_failed_request(artefacts):
    with _Running(_config(artefacts, {"a": 1.0})) as u:
        results, stop = [], threading.Event()

        def client():
            while not stop.is_set():
                try:
                    results.append(deploy.invoke(u, ROWS[:2]).variant)
                except Exception as error:  # noqa: BLE001
                    results.append(error)

        thread = threading.Thread(target=client)
        thread.start()
        try:
            while len(results) < 10:
                time.sleep(0.01)
            new = _config(artefacts, {"b": 1.0}, name="new").to_dict()
            answer = deploy.request(
                u + "/admin/endpoint-config",
                "POST",
                json.dumps(new).encode(),
                {"Content-Type": "application/json"},
            )
            n_at_update = len(results)
            while len(results) < n_at_update + 10:
                time.sleep(0.01)
        finally:
            stop.set()
            thread.join(5)
        assert answer.status == 200 and answer.json()["endpoint_config"] == "new"
        assert all(isinstance(r, str) for r in results)
        switch = results.index("b")
        assert set(results[:switch]) == {"a"} and set(results[switch:]) == {"b"}
        refused = deploy.request(
            u + "/admin/endpoint-config",
            "POST",
            b'{"name": "x", "variants": []}',
            {"Content-Type": "application/json"},
        )
        assert refused.status == 400 and "old one still serves" in refused.json()["error"]
        assert deploy.invoke(u, ROWS[:1]).variant == "b"


def test_batch_transform_keeps_the_order(url, artefacts, tmp_path):
    rows = np.random.default_rng(2).normal(size=(50, N_FEATURES)).round(4).tolist()
    source = tmp_path / "input.csv"
    source.write_text("".join(",".join(str(v) for v in row) + "\n" for row in rows))
    result = deploy.batch_transform(source, url, max_payload_bytes=300, max_concurrent=3)
    assert result["records"] == 50 and result["requests"] > 5
    assert result["output"] == tmp_path / "input.csv.out"
    written = [float(line) for line in result["output"].read_text().splitlines()]
    np.testing.assert_allclose(written, serve.load_artifact(artefacts["a"]).predict(rows), rtol=1e-6)
    with pytest.raises(ValueError, match="line 1 alone has"):
        deploy.batch_transform(source, url, max_payload_bytes=10)
    with pytest.raises(FileNotFoundError):
        deploy.batch_transform(tmp_path / "missing.csv", url)
    with pytest.raises(ValueError, match="max_concurrent"):
        deploy.batch_transform(source, url, max_concurrent=0)


def test_latency_burst_bad_input(url):
    with pytest.raises(ValueError, match="n_requests"):
        deploy.latency_burst(url, ROWS, n_requests=0)
    with pytest.raises(ValueError, match="rows"):
        deploy.latency_burst(url, [], n_requests=3)


def test_make_server_bad_input(artefacts):
    config = _config(artefacts, {"a": 1.0})
    with pytest.raises(TypeError, match="EndpointConfig"):
        serve.make_server({"name": "x"})
    with pytest.raises(ValueError, match="port"):
        serve.make_server(config, port=70000)
    with pytest.raises(ValueError, match="max_body_bytes"):
        serve.make_server(config, max_body_bytes=0)


# --------------------------------------------------------------------------------------------
# the endpoint as its own process
# --------------------------------------------------------------------------------------------
def _port_refuses(url):
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) != 0


@pytest.fixture(scope="module")
def process_endpoint(artefacts, tmp_path_factory):
    """One endpoint process for the tests that call it; it logs its imports (-X importtime)."""
    path = tmp_path_factory.mktemp("process") / "endpoint.json"
    path.write_text(json.dumps(_config(artefacts, {"a": 1.0}).to_dict()))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPROFILEIMPORTTIME", "1")
        endpoint = deploy.Endpoint(path, max_body_bytes=5000).start()
    try:
        yield endpoint
    finally:
        endpoint.close()


def test_endpoint_process_answers(process_endpoint, artefacts):
    url = process_endpoint.url
    assert url.startswith("http://127.0.0.1:") and process_endpoint.proc.poll() is None
    expected = serve.load_artifact(artefacts["a"]).predict(ROWS)
    for content_type in ["application/json", "text/csv"]:
        np.testing.assert_allclose(
            deploy.invoke(url, ROWS, content_type=content_type).predictions, expected, rtol=1e-6
        )
    assert (
        deploy.request(url + "/invocations", "POST", b"1" * 6000, {"Content-Type": "text/csv"}).status == 413
    )
    assert deploy.request(url + "/ping").status == 200


def test_endpoint_process_stops_cleanly(process_endpoint):
    assert process_endpoint.shutdown() == 0
    assert process_endpoint.proc.poll() == 0 and _port_refuses(process_endpoint.url)
    assert process_endpoint.log.strip().splitlines()[-1].startswith("stopped cleanly")
    # the server imported NumPy but not PyTorch (the import log of -X importtime)
    imported = {
        line.split("|")[-1].strip() for line in process_endpoint.log.splitlines() if "import time:" in line
    }
    assert "numpy" in imported and "torch" not in imported


def test_shutdown_stops_the_process_when_the_server_does_not_answer(tmp_path):
    path = tmp_path / "endpoint.json"
    path.write_text("{}")
    for listening in [False, True]:  # nothing listening (refused) or a server that never answers
        endpoint = deploy.Endpoint(path, stop_timeout=0.5)
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            if listening:
                silent.listen()
            endpoint.url = f"http://127.0.0.1:{silent.getsockname()[1]}"
            endpoint.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            try:
                assert endpoint.shutdown() == -signal.SIGTERM
            finally:
                endpoint.close()
        assert endpoint.proc.poll() is not None


def test_endpoint_process_is_stopped_when_the_block_fails(artefacts, tmp_path):
    path = tmp_path / "endpoint.json"
    path.write_text(json.dumps(_config(artefacts, {"a": 1.0}).to_dict()))
    with pytest.raises(ZeroDivisionError):
        with deploy.Endpoint(path) as endpoint:
            1 / 0  # noqa: B018
    assert endpoint.proc.poll() == 0 and _port_refuses(endpoint.url)


def test_the_server_stops_when_its_parent_dies(artefacts, tmp_path):
    path = tmp_path / "endpoint.json"
    path.write_text(json.dumps(_config(artefacts, {"a": 1.0}).to_dict()))
    command = deploy.Endpoint(path)._command()
    parent = (
        "import json, os, subprocess, sys; "
        "p = subprocess.Popen(json.loads(sys.argv[1]), stdout=subprocess.PIPE, text=True); "
        "print(p.pid, p.stdout.readline().split()[-1], flush=True); os._exit(0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", parent, json.dumps(command)], capture_output=True, text=True, timeout=60
    )
    pid, url = out.stdout.split()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _port_refuses(url):
            time.sleep(0.1)
        assert _port_refuses(url), f"the orphaned server {pid} still answers"
    finally:
        if not _port_refuses(url):
            os.kill(int(pid), signal.SIGKILL)


def test_endpoint_that_cannot_start_says_why(tmp_path):
    path = tmp_path / "endpoint.json"
    path.write_text(json.dumps({"name": "x", "variants": [{"name": "a", "artifact": "nope", "weight": 1}]}))
    endpoint = deploy.Endpoint(path)
    with pytest.raises(RuntimeError, match="no model artefact"):
        endpoint.start()
    assert endpoint.proc.poll() is not None
    with pytest.raises(FileNotFoundError):
        deploy.Endpoint(tmp_path / "missing.json")
