"""The e2e tier's ``server``: ``storestack serve`` as a subprocess on the session's simulated
cluster, with a fresh data directory, stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveServer
from toolchain.cluster import SimCluster


@pytest.fixture
def server(tools: Path, sim_cluster: SimCluster, tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(data_dir=tmp_path / "data", kubeconfig=sim_cluster.kubeconfig, tools_dir=tools).start()
    assert live.token, f"serve printed no login URL: {live.log()}"
    try:
        yield live
    finally:
        live.stop()
