"""The model server (dlnotes.serve) and its client (dlnotes.deploy): artefacts, routes, errors, routing.

Most tests run the server in a thread of the test process; one starts it as its own process
through ``deploy.Endpoint``. Every server is stopped in a ``finally`` or a context manager.
"""

import http.client
import io
import json
import socket
import subprocess
import sys
import tarfile
import threading
import time
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


@pytest.fixture
def url(artefacts):
    with _Running(_config(artefacts, {"a": 1.0}), max_body_bytes=2000) as u:
        yield u


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
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        for name, payload in [("model.npz", weights), ("config.json", json.dumps(config).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(ValueError, match="SHA-256"):
        serve.load_artifact(bad)


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
        ("POST", "/invocations", b"1," * 1500, {"Content-Type": "text/csv"}, 413, "limit of this endpoint"),
        ("GET", "/predict", None, {}, 404, "no such path"),
        ("GET", "/invocations", None, {}, 405, "accepts POST"),
        ("DELETE", "/ping", None, {}, 405, "accepts GET"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_message_and_the_server_keeps_serving(
    url, method, path, body, headers, status, message
):
    answer = deploy.request(url + path, method, body, headers)
    assert answer.status == status
    assert message in answer.json()["error"]
    assert "Traceback" not in answer.body.decode()
    assert deploy.request(url + "/ping").status == 200
    assert deploy.request(url + "/stats").json()["status"][str(status)] == 1


def test_missing_content_length_is_411(url):
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.putrequest("POST", "/invocations")
    conn.putheader("Content-Type", "text/csv")
    conn.endheaders()
    answer = conn.getresponse()
    assert answer.status == 411 and "Content-Length" in json.loads(answer.read())["error"]
    conn.close()


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


def test_endpoint_process_starts_answers_and_stops_cleanly(artefacts, tmp_path):
    path = tmp_path / "endpoint.json"
    path.write_text(json.dumps(_config(artefacts, {"a": 1.0}).to_dict()))
    with deploy.Endpoint(path, max_body_bytes=5000) as endpoint:
        assert endpoint.url.startswith("http://127.0.0.1:")
        np.testing.assert_allclose(
            deploy.invoke(endpoint.url, ROWS).predictions,
            serve.load_artifact(artefacts["a"]).predict(ROWS),
            rtol=1e-6,
        )
        assert endpoint.shutdown() == 0
    assert endpoint.proc.poll() == 0 and _port_refuses(endpoint.url)
    assert "stopped cleanly" in endpoint.log


def test_endpoint_process_is_stopped_when_the_block_fails(artefacts, tmp_path):
    path = tmp_path / "endpoint.json"
    path.write_text(json.dumps(_config(artefacts, {"a": 1.0}).to_dict()))
    with pytest.raises(ZeroDivisionError):
        with deploy.Endpoint(path) as endpoint:
            1 / 0  # noqa: B018
    assert endpoint.proc.poll() == 0 and _port_refuses(endpoint.url)


def test_the_server_script_does_not_import_torch():
    code = f"import runpy, sys; runpy.run_path({serve.__file__!r}); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


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
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _port_refuses(url):
        time.sleep(0.1)
    assert _port_refuses(url), f"the orphaned server {pid} still answers"


def test_endpoint_that_cannot_start_says_why(tmp_path):
    path = tmp_path / "endpoint.json"
    path.write_text(json.dumps({"name": "x", "variants": [{"name": "a", "artifact": "nope", "weight": 1}]}))
    endpoint = deploy.Endpoint(path)
    with pytest.raises(RuntimeError, match="no model artefact"):
        endpoint.start()
    assert endpoint.proc.poll() is not None
    with pytest.raises(FileNotFoundError):
        deploy.Endpoint(tmp_path / "missing.json")
