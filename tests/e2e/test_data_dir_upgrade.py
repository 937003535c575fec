"""``storestack serve`` started on a single-host data dir written before replicas shared anything:
the schema is upgraded, the store's stack config file is imported into the database once, the
passphrase is recorded as the fleet's, and the store keeps its credentials and can still be
changed and deleted (the engine finds its encrypted config through the database).

The old data dir is made the way an older release left it: a store provisioned by this release,
then the database taken back to migration 0005 (before ``stack_configs`` and ``fleet_facts``) and
the stack config put back as the local ``Pulumi.<store>.yaml`` file that release kept."""

from __future__ import annotations

import sqlite3

import pytest
from alembic import command

from api.db import alembic_config, make_engine
from tests.live import LiveServer
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster


def test_serve_upgrades_an_old_single_host_data_dir(server: LiveServer, sim_cluster: SimCluster) -> None:
    with server.client() as api:
        assert api.post("/stores", json={"name": "legacy", "engine": "woocommerce"}).status_code == 202
        server.wait_status("legacy", "ready")
        password = api.get("/stores/legacy/credentials").json()["admin_password"]
    server.stop()

    database = server.data_dir / "storestack.db"
    project = server.data_dir / "pulumi" / "project"
    with sqlite3.connect(database) as db:
        (config_text,) = db.execute("SELECT text FROM stack_configs WHERE name = 'legacy'").fetchone()
    assert "secure:" in config_text and password not in config_text  # the credentials, encrypted
    engine = make_engine(f"sqlite:///{database}")
    command.downgrade(alembic_config(engine), "0005_revisions_and_rollouts")
    engine.dispose()
    old_file = project / "Pulumi.legacy.yaml"
    old_file.write_text(config_text)
    old_file.chmod(0o600)

    server.start()
    assert "imported the stack configs of 1 stores" in server.log()
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT text FROM stack_configs WHERE name = 'legacy'").fetchone() == (config_text,)
        verifiers = db.execute("SELECT count(*) FROM fleet_facts").fetchone()
    assert verifiers == (1,)  # the data dir's passphrase became the fleet's
    with server.client() as api:
        assert api.get("/stores/legacy/credentials").json()["admin_password"] == password
        response = api.patch("/stores/legacy", json={"title": "Legacy Shop"})
        assert response.status_code == 202, response.text
        store = server.wait_status("legacy", "ready")
        assert store["title"] == "Legacy Shop"
        assert api.get("/stores/legacy/credentials").json()["admin_password"] == password
        assert api.delete("/stores/legacy").status_code == 202
        server.wait_status("legacy", "deleted")
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM stack_configs").fetchone() == (0,)
    assert not old_file.exists()
    namespaces = sim_cluster.kubectl("get", "namespaces", "-o", "name").split()
    assert "namespace/store-legacy" not in namespaces
    # a second start imports nothing again
    server.stop()
    server.start()
    assert server.log().count("imported the stack configs") == 1
