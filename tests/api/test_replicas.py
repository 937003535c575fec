"""What replicas on several hosts share through the database (``api.replicas``), on SQLite and a
real PostgreSQL: the stack config texts and ``stacks.config_store.ConfigSync`` over them, the import
of a single-host data dir's configs, and the passphrase check that keeps a replica with another
passphrase out. The fleet of replicas at work is ``tests/e2e/test_replicas_e2e.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from api import cli
from api.db import make_engine, transaction, upgrade, utcnow
from api.models import FleetFact, Store
from api.replicas import (
    PASSPHRASE_FACT,
    DatabaseStackConfigs,
    ReplicaConfigError,
    check_passphrase,
    import_local_configs,
)
from api.settings import PASSPHRASE_FILE, Settings
from stacks.config_store import ConfigSync
from stacks.errors import OperationFailedError


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    database = make_engine(database_url)
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


def _store(engine: Engine, name: str, *, live: bool = True) -> None:
    now = utcnow()
    with transaction(engine) as session:
        session.add(
            Store(
                name=name,
                active_name=name if live else None,
                owner="admin",
                engine="woocommerce",
                spec_json="{}",
                desired="present" if live else "absent",
                status="ready" if live else "deleted",
                created_at=now,
                updated_at=now,
            )
        )


def test_stack_configs_roundtrip(engine: Engine) -> None:
    configs = DatabaseStackConfigs(engine)
    assert configs.get("a") is None
    configs.put("a", "one")
    configs.put("b", "two")
    configs.put("a", "three")
    assert configs.get("a") == "three"
    assert configs.names() == ["a", "b"]
    configs.delete("a")
    configs.delete("a")  # a missing one is fine
    assert configs.get("a") is None and configs.names() == ["b"]


class CountingStore(DatabaseStackConfigs):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.puts = 0

    def put(self, name: str, text: str) -> None:
        self.puts += 1
        super().put(name, text)


def test_config_sync_makes_the_local_file_a_copy(engine: Engine, tmp_path: Path) -> None:
    store = CountingStore(engine)
    host_a, host_b = tmp_path / "a", tmp_path / "b"
    host_a.mkdir()
    host_b.mkdir()
    a, b = ConfigSync(host_a, store), ConfigSync(host_b, store)
    (host_a / "Pulumi.s1.yaml").write_text("config: {x: 1}\n")
    a.push("s1")
    a.push("s1")  # unchanged since the last push: not stored again
    assert store.puts == 1 and store.get("s1") == "config: {x: 1}\n"

    b.pull("s1")  # another host gets the file
    assert (host_b / "Pulumi.s1.yaml").read_text() == "config: {x: 1}\n"
    (host_b / "Pulumi.s1.yaml").write_text("config: {x: 2}\n")
    b.push("s1")
    a.pull("s1")
    assert (host_a / "Pulumi.s1.yaml").read_text() == "config: {x: 2}\n"
    assert store.puts == 2

    b.forget("s1")
    assert store.get("s1") is None and not (host_b / "Pulumi.s1.yaml").exists()
    a.pull("s1")  # the file of a store deleted elsewhere goes
    assert not (host_a / "Pulumi.s1.yaml").exists()
    assert list(host_a.iterdir()) == [], "no temporary files are left"


def test_config_sync_without_a_store_keeps_the_local_file(tmp_path: Path) -> None:
    sync = ConfigSync(tmp_path, None)
    (tmp_path / "Pulumi.s1.yaml").write_text("x")
    sync.pull("s1")
    sync.push("s1")
    assert (tmp_path / "Pulumi.s1.yaml").read_text() == "x"


def test_a_failing_store_is_a_temporary_operation_error(tmp_path: Path) -> None:
    class Down:
        def get(self, name: str) -> str | None:
            raise ConnectionError("password=hunter2 host unreachable")

        def put(self, name: str, text: str) -> None:
            raise ConnectionError("no")

        def delete(self, name: str) -> None:
            raise ConnectionError("no")

    sync = ConfigSync(tmp_path, Down())
    with pytest.raises(OperationFailedError) as caught:
        sync.pull("s1")
    assert caught.value.temporary and caught.value.code == "config_failed"
    assert "hunter2" not in str(caught.value), "the store's own message may hold secrets"
    (tmp_path / "Pulumi.s1.yaml").write_text("x")
    with pytest.raises(OperationFailedError, match="could not store the stack config of store 's1'"):
        sync.push("s1")


def test_import_takes_live_stores_files_the_database_lacks(engine: Engine, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("live-1", "live-2", "gone", "unknown"):
        (project / f"Pulumi.{name}.yaml").write_text(f"local {name}\n")
    _store(engine, "live-1")
    _store(engine, "live-2")
    _store(engine, "gone", live=False)
    configs = DatabaseStackConfigs(engine)
    configs.put("live-2", "shared live-2\n")  # the database's copy wins

    assert import_local_configs(engine, project) == ["live-1"]
    assert configs.get("live-1") == "local live-1\n"
    assert configs.get("live-2") == "shared live-2\n"
    assert configs.names() == ["live-1", "live-2"]
    assert import_local_configs(engine, project) == [], "a second start imports nothing"
    assert import_local_configs(engine, tmp_path / "missing") == []


def _settings(tmp_path: Path, database_url: str, passphrase: str | None, host: str) -> Settings:
    data = tmp_path / host
    return Settings(
        data_dir=data,
        database_url=database_url,
        pulumi_passphrase=SecretStr(passphrase) if passphrase is not None else None,
    )


def test_the_first_replica_records_a_verifier_not_the_passphrase(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    check_passphrase(engine, _settings(tmp_path, database_url, "fleet-secret", "h1"))
    with transaction(engine) as session:
        [fact] = session.exec(select(FleetFact)).all()
    assert fact.key == PASSPHRASE_FACT and fact.value.startswith("scrypt$")
    assert "fleet-secret" not in fact.value
    check_passphrase(engine, _settings(tmp_path, database_url, "fleet-secret", "h2"))  # same: joins


def test_a_replica_with_another_passphrase_is_refused(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    check_passphrase(engine, _settings(tmp_path, database_url, "fleet-secret", "h1"))
    with pytest.raises(ReplicaConfigError, match="differs"):
        check_passphrase(engine, _settings(tmp_path, database_url, "other", "h2"))


def test_a_replica_that_would_make_its_own_passphrase_is_refused(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    first = _settings(tmp_path, database_url, None, "h1")
    check_passphrase(engine, first)  # generates the data dir's passphrase file
    assert (first.data_dir / PASSPHRASE_FILE).exists()
    check_passphrase(engine, first)  # the same host again: its file matches
    second = _settings(tmp_path, database_url, None, "h2")
    with pytest.raises(ReplicaConfigError, match="STORESTACK_PULUMI_PASSPHRASE"):
        check_passphrase(engine, second)
    assert not (second.data_dir / PASSPHRASE_FILE).exists(), "refused before it wrote anything"
    given = (first.data_dir / PASSPHRASE_FILE).read_text().strip()
    check_passphrase(engine, _settings(tmp_path, database_url, given, "h3"))


def test_the_worker_command_refuses_to_join_with_another_passphrase(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_passphrase(engine, _settings(tmp_path, database_url, "fleet-secret", "h1"))
    monkeypatch.setenv("STORESTACK_DATA_DIR", str(tmp_path / "h2"))
    monkeypatch.setenv("STORESTACK_DATABASE_URL", database_url)
    monkeypatch.setenv("STORESTACK_PULUMI_PASSPHRASE", "not-the-fleets")
    result = CliRunner().invoke(cli.app, ["worker"])
    assert result.exit_code == 1, result.output
    assert "cannot join the fleet" in result.output and "STORESTACK_PULUMI_PASSPHRASE" in result.output
    assert "not-the-fleets" not in result.output
