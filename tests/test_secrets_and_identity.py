"""Secrets and what is behind a URL (evals/engine/auth.py, evals/engine/endpoints.py): a key in
the environment is sent to the servers that need it and never written down; a remote server
that wants a key, or serves other weights than its precision's, is named before anything is
sent to it. In process, against a small stand-in for vLLM's /v1/models. The engine run with
VLLM_API_KEY set, every artifact searched for the key, is the greedy run of
tests/test_greedy_shape.py (one server start serves both)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evals.engine import auth, facts
from evals.engine.client import Client, PoolSize
from evals.engine.endpoints import Expected, RemoteEndpoint, weights_mismatch
from evals.engine.server import ServerError

KEY = "sk-test-5f1e2d3c4b5a6978"
FP8 = Expected(("qwen3-32b-fp8", "Qwen/Qwen3-32B-FP8"), "Qwen/Qwen3-32B-FP8", "aa55da1ecc13d006e8b8e4f54579b1ea8c3db2df")


@pytest.fixture
def served():
    """A stand-in server: /v1/models lists `models`, and wants `key` (None: no key)."""
    state = {"models": [], "key": None, "seen": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            state["seen"].append((self.path, self.headers.get("Authorization")))
            if state["key"] and self.headers.get("Authorization") != f"Bearer {state['key']}":
                self.send_response(401)
                self.end_headers()
                self.wfile.write(b'{"error": "Unauthorized"}')
                return
            body = json.dumps({"object": "list", "data": state["models"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()


def test_a_secret_is_recorded_as_set_and_cut_out_of_text(monkeypatch):
    monkeypatch.setenv("VLLM_API_KEY", KEY)
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefgh12345")
    recorded = facts.vllm_env({"VLLM_CPU_KVCACHE_SPACE": "1"})
    assert recorded["VLLM_API_KEY"] == auth.REDACTED and recorded["VLLM_CPU_KVCACHE_SPACE"] == "1"
    assert KEY not in json.dumps(recorded)
    assert auth.redact_text(f"args: api_key={KEY}, token hf_abcdefgh12345") == "args: api_key=<VLLM_API_KEY>, token <HF_TOKEN>"
    assert auth.redact_env({"MY_PASSWORD": "x", "PATH": "/bin"}) == {"MY_PASSWORD": auth.REDACTED, "PATH": "/bin"}


def test_a_remote_server_that_wants_a_key_is_named_and_given_one(served, monkeypatch):
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    monkeypatch.delenv("SUITE_API_KEY_FP8", raising=False)
    served.update(key=KEY, models=[{"id": "qwen3-32b-fp8", "root": "Qwen/Qwen3-32B-FP8"}])
    with pytest.raises(ServerError, match=rf"--vllm-url fp8={served['url']}: the server answered 401 \(Unauthorized\) to "
                                          r"/v1/models: no key was sent: set SUITE_API_KEY_FP8 or VLLM_API_KEY"):
        RemoteEndpoint(served["url"], precision="fp8", expected=FP8)
    monkeypatch.setenv("VLLM_API_KEY", "another")
    with pytest.raises(ServerError, match="the key in VLLM_API_KEY was refused"):
        RemoteEndpoint(served["url"], precision="fp8", expected=FP8)
    monkeypatch.setenv("SUITE_API_KEY_FP8", KEY)  # the precision's own key comes first
    remote = RemoteEndpoint(served["url"], precision="fp8", expected=FP8)
    assert remote.served == {"id": "qwen3-32b-fp8", "root": "Qwen/Qwen3-32B-FP8"} and remote.served_name == "qwen3-32b-fp8"
    assert Client(remote, PoolSize(1)).headers == {"Authorization": f"Bearer {KEY}"}
    assert served["seen"][-1] == ("/v1/models", f"Bearer {KEY}")


def test_other_weights_behind_a_url_fail_before_anything_is_sent(served, monkeypatch):
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    url = served["url"]
    served["models"] = [{"id": "qwen3-32b-fp8", "root": "Qwen/Qwen3-32B"}]  # BF16 weights under FP8's name
    with pytest.raises(ServerError, match=rf"--vllm-url fp8={url}: 'qwen3-32b-fp8' serves Qwen/Qwen3-32B, not "
                                          r"Qwen/Qwen3-32B-FP8: these are not fp8's weights .*nothing was sent to it"):
        RemoteEndpoint(url, precision="fp8", expected=FP8)
    served["models"] = [{"id": "something-else", "root": "Qwen/Qwen3-32B-FP8"}]
    with pytest.raises(ServerError, match=r"the server serves \['something-else'\], none of the names fp8 is served as "
                                          r"\['qwen3-32b-fp8', 'Qwen/Qwen3-32B-FP8'\]"):
        RemoteEndpoint(url, precision="fp8", expected=FP8)
    # vLLM's default name (the hub id) is one of the names; another model beside it is fine.
    served["models"] = [{"id": "other"}, {"id": "Qwen/Qwen3-32B-FP8", "root": "Qwen/Qwen3-32B-FP8", "max_model_len": 40960}]
    assert RemoteEndpoint(url, precision="fp8", expected=FP8).served_name == "Qwen/Qwen3-32B-FP8"
    assert all(path == "/v1/models" for path, _ in served["seen"])  # nothing but the question was sent


def test_the_weights_a_server_reports_are_read_as_hub_ids_cache_snapshots_or_folders(tmp_path):
    snapshot = "/hf/hub/models--Qwen--Qwen3-32B-FP8/snapshots/aa55da1ecc13d006e8b8e4f54579b1ea8c3db2df"
    assert weights_mismatch(snapshot, FP8) is None
    assert weights_mismatch(snapshot.replace("aa55", "bb55"), FP8) == (
        "serves Qwen/Qwen3-32B-FP8 at commit bb55da1ecc13d006e8b8e4f54579b1ea8c3db2df, not aa55da1ecc13d006e8b8e4f54579b1ea8c3db2df")
    assert weights_mismatch(snapshot.replace("Qwen3-32B-FP8", "Qwen3-32B"), FP8).startswith("serves Qwen/Qwen3-32B (from ")
    assert weights_mismatch("/data/my-copy", FP8) is None  # a folder of one's own: nothing to check it against
    assert weights_mismatch(None, FP8) is None
    tiny = Expected(("tiny-fp8",), str(tmp_path / "fp8"))
    assert weights_mismatch(str(tmp_path / "fp8"), tiny) is None
    assert weights_mismatch(str(tmp_path / "bf16"), tiny) == f"serves {tmp_path / 'bf16'}, not {tmp_path / 'fp8'}"
