"""Shared pytest fixtures: the built toolchain, the simulated cluster (one per test session) and a
Pulumi runtime config in a temporary data dir. Cluster tests fail, never skip, when the toolchain
is missing: CI must run them for real."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from stacks.runtime import FleetConfig
from toolchain.cluster import SimCluster
from toolchain.pins import tools_dir

if TYPE_CHECKING:
    from tests.objstore import ObjectStore

REQUIRED = (
    "pulumi",
    "pulumi-resource-kubernetes",
    "kube-apiserver",
    "kubectl",
    "etcd",
    "kwok",
    "kwokctl",
    "versitygw",
)


@pytest.fixture(autouse=True)
def _restore_umask() -> Iterator[None]:
    """Tests that run ``serve`` in-process set its private umask (077); later ones must not inherit it."""
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)


@pytest.fixture(scope="session")
def tools() -> Path:
    root = tools_dir()
    missing = [b for b in REQUIRED if not (root / "bin" / b).exists()]
    if missing:
        pytest.fail(f"toolchain not built in {root}: missing {missing}; run `make setup`")
    return root


@pytest.fixture(scope="session")
def sim_cluster(tools: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimCluster]:
    cluster = SimCluster(tools_dir=tools, cluster_dir=tmp_path_factory.mktemp("cluster"))
    cluster.up(nodes=3)
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture
def fleet_config(tools: Path, sim_cluster: SimCluster, tmp_path: Path) -> FleetConfig:
    return FleetConfig(
        data_dir=tmp_path / "data",
        passphrase=SecretStr(secrets.token_urlsafe(24)),
        kubeconfig=sim_cluster.kubeconfig,
        tools_dir=tools,
        environment="sim",
    )


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A real PostgreSQL server for the session (``STORESTACK_TEST_POSTGRES_URL`` to use your own)."""
    given = os.environ.get("STORESTACK_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    from tests.pg import PostgresServer

    # Not under pytest's tmp dir: that one is private to root, and the server runs as 'postgres'.
    root = Path(tempfile.mkdtemp(prefix="storestack-pg-"))
    server = PostgresServer(root)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def object_store(tools: Path) -> Iterator[ObjectStore]:
    """A real S3-compatible object store (versitygw) for the session, with an empty bucket for
    Pulumi's ``s3://`` backend; each test must use its own key prefix or stack names."""
    from tests.objstore import ObjectStoreServer

    root = Path(tempfile.mkdtemp(prefix="storestack-s3-"))
    server = ObjectStoreServer(root, tools)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_ambient_pulumi_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The project must set every Pulumi variable it needs itself; a developer's shell must not help.
    for key in list(os.environ):
        if key.startswith("PULUMI_") or key == "KUBECONFIG":
            monkeypatch.delenv(key, raising=False)
