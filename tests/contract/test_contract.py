"""The API contract, tested over HTTP against a real ``storestack serve``: schemathesis fuzzes every
operation of the server's own ``/openapi.json`` (examples, coverage, fuzzing and stateful phases;
every check), and a client generated from that document drives the server with typed calls.

The server runs with ``--no-worker`` against the simulated cluster: the contract is the HTTP
surface (validation, errors, auth, limits, idempotency), and thousands of generated creates would
otherwise each start a Pulumi update. ``use_after_free`` is the one check left out, by design:
``DELETE`` answers ``202`` and the store stays readable (``deleting``, then ``deleted``); and
``revoke_token`` the one operation (random ids would revoke the fuzzer's own token).
Set ``STORESTACK_FUZZ_SEED`` to fuzz with another seed, ``STORESTACK_FUZZ_EXAMPLES`` for more cases.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import REPO, LiveServer
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster

SEED = os.environ.get("STORESTACK_FUZZ_SEED", "20261201")
EXAMPLES = os.environ.get("STORESTACK_FUZZ_EXAMPLES", "100")
MIN_REQUESTS = 2000
GENERATOR = REPO / "clients" / "python"


@pytest.fixture
def server(tools: Path, sim_cluster: SimCluster, tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh server per test: the fuzzer uses up the admin's store quota."""
    live = LiveServer(
        data_dir=tmp_path / "data",
        kubeconfig=sim_cluster.kubeconfig,
        tools_dir=tools,
        serve_args=("--no-worker",),
    ).start()
    assert live.token, f"serve printed no login URL: {live.log()}"
    try:
        yield live
    finally:
        live.stop()


def _fuzz(server: LiveServer, token: str, report_dir: Path) -> tuple[list[dict], float]:  # type: ignore[type-arg]
    started = time.monotonic()
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            f"--config-file={Path(__file__).with_name('schemathesis.toml')}",
            "run",
            f"{server.url}/openapi.json",
            "--checks=all",
            "--exclude-checks=use_after_free",
            # Random token ids would revoke the fuzzer's own token mid-run; tests/api/test_tokens.py
            # covers revocation, and the generated client's round trip calls it.
            "--exclude-operation-id=revoke_token",
            f"--max-examples={EXAMPLES}",
            f"--seed={SEED}",
            "--request-timeout=20",
            f"--header=Authorization: Bearer {token}",
            "--report=har,json",
            f"--report-dir={report_dir}",
            "--no-color",
        ],
        cwd=report_dir.parent,  # schemathesis keeps a cache in its working directory
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, (
        f"schemathesis found failures:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    )
    (har,) = report_dir.glob("har-*.json")
    entries: list[dict] = json.loads(har.read_text())["log"]["entries"]  # type: ignore[type-arg]
    return entries, elapsed


def test_fuzzing_the_openapi_document_finds_no_failure(server: LiveServer, tmp_path: Path) -> None:
    assert server.token is not None
    with server.client() as client:
        made = client.post("/tokens", json={"owner": "fuzz-owner"})
        assert made.status_code == 201, made.text
    owner_token = made.json()["token"]
    entries: list[dict] = []  # type: ignore[type-arg]
    times = []
    for label, token in (("admin", server.token), ("owner", owner_token)):
        run, elapsed = _fuzz(server, token, tmp_path / label)
        entries += run
        times.append(elapsed)
        print(f"\n[contract] {label}: {len(run)} requests in {elapsed:.1f}s")
    statuses = Counter(int(e["response"]["status"]) for e in entries)
    by_status = dict(sorted(statuses.items()))
    print(f"[contract] {len(entries)} requests in {sum(times):.1f}s, by status: {by_status}")
    assert len(entries) >= MIN_REQUESTS
    assert not [s for s in statuses if s >= 500]
    log = server.log()
    assert "Traceback" not in log
    assert "unhandled error" not in log
    passphrase = (server.data_dir / "passphrase").read_text().strip()
    for secret in (server.token, owner_token, passphrase):
        assert secret not in log.replace(f"#token={server.token}", "")  # the first-start login line only


def test_a_client_generated_from_the_document_drives_the_server(server: LiveServer, tmp_path: Path) -> None:
    document = httpx.get(f"{server.url}/openapi.json", timeout=10)
    assert document.status_code == 200
    schema = tmp_path / "openapi.json"
    schema.write_text(document.text)
    bin_dir = GENERATOR / ".venv" / "bin"
    assert (bin_dir / "openapi-python-client").exists(), "client generator not installed: run `make setup`"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    generated = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            f"--path={schema}",
            f"--output-path={tmp_path / 'storestack_client'}",
            "--meta=none",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout + generated.stderr
    ran = subprocess.run(
        [
            str(bin_dir / "python"),
            str(Path(__file__).with_name("client_roundtrip.py")),
            server.url,
            server.token or "",
        ],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    seen = json.loads(ran.stdout)
    assert seen == {
        "whoami": ["admin", "admin"],
        "created": [202, "client-shop", "pending"],
        "replayed": "true",
        "again": "store_exists",
        "get": ["client-shop", "Typed", "woocommerce"],
        "listed": ["client-shop"],
        "missing": "store_not_found",
        "invalid": "validation_error",
        "credentials": "invalid_state",
        "deleted": ["deleting", "absent"],
        "owner_sees": ["typed"],
        "revoked": False,
        "after_revoke": "unauthorized",
        "refused": "unauthorized",
    }
