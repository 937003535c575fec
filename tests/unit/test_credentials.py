"""A store's credentials: made once, refused when lost, and on a first up given to the program from
memory while they are stored (``stacks.credentials``, ``stacks.program.pending_credentials``)."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

import environments
from stacks.credentials import CredentialStore
from stacks.errors import InvalidSpecError, OperationFailedError
from stacks.program import CREDENTIAL_KEYS, generate_credentials, pending_credentials, store_program
from stacks.runtime import FleetConfig
from stacks.types import StoreSpec
from tests.unit.harness import deploy, plain

SECRET = "kubernetes:core/v1:Secret"
REPO = Path(__file__).resolve().parents[2]


def _store(tmp_path: Path, config: dict[str, object] | None) -> CredentialStore:
    fleet = FleetConfig(data_dir=tmp_path, passphrase=SecretStr("x"), tools_dir=tmp_path / "tools")
    fleet.project_dir.mkdir(parents=True)
    if config is not None:
        (fleet.project_dir / "Pulumi.shop.yaml").write_text(yaml.safe_dump({"config": config}))
    return CredentialStore(fleet, "pulumi", {})


def test_a_store_with_stored_credentials_gets_none_new(tmp_path: Path) -> None:
    assert _store(tmp_path, {"storestack:credentials": {"secure": "v1:x"}}).fresh("shop", []) is None
    legacy = {f"storestack:{key}": {"secure": "v1:x"} for key in CREDENTIAL_KEYS}
    assert _store(tmp_path / "legacy", legacy).fresh("shop", []) is None


def test_a_new_store_gets_every_credential(tmp_path: Path) -> None:
    fresh = _store(tmp_path, None).fresh("shop", [])
    assert fresh is not None and set(fresh) == set(CREDENTIAL_KEYS)


def test_a_first_up_that_stopped_before_the_secret_gets_new_credentials(tmp_path: Path) -> None:
    # The namespace and the guardrails do not hold a credential: nothing is locked out by new ones.
    resources = [{"type": "kubernetes:core/v1:Namespace"}, {"type": "kubernetes:core/v1:ResourceQuota"}]
    assert _store(tmp_path, {"storestack:spec": "{}"}).fresh("shop", resources) is not None


def test_a_store_whose_secret_exists_but_credentials_are_lost_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpecError, match=r"credentials are missing from .*Pulumi\.shop\.yaml"):
        _store(tmp_path, {"storestack:spec": "{}"}).fresh("shop", [{"type": SECRET}])


def _secret_values(
    credentials_future: concurrent.futures.Future[None], values: dict[str, str]
) -> dict[str, str]:
    program = store_program(
        StoreSpec(name="shop"),
        environments.load("sim"),
        credentials=lambda: pending_credentials(values, credentials_future),
    )
    deployment = deploy(lambda: program() and None)
    data: dict[str, str] = plain(deployment.one(SECRET).inputs["stringData"])
    return data


def test_pending_credentials_reach_the_secret_once_stored() -> None:
    values = generate_credentials()
    stored: concurrent.futures.Future[None] = concurrent.futures.Future()
    stored.set_result(None)
    data = _secret_values(stored, values)
    assert data["wordpress-admin-password"] == values["admin_password"]
    assert data["mysql-root-password"] == values["mysql_root_password"]


FAILING_PROGRAM = """
import concurrent.futures
from stacks.errors import OperationFailedError
from stacks.program import generate_credentials
from tests.unit.test_credentials import _secret_values
stored = concurrent.futures.Future()
stored.set_exception(OperationFailedError("storing failed", temporary=True, reason="config_failed"))
try:
    _secret_values(stored, generate_credentials())
except Exception as exc:
    print("program failed:", exc)
else:
    print("program succeeded")
"""


def test_pending_credentials_that_could_not_be_stored_fail_the_program() -> None:
    # In a process of its own: the failed program leaves Pulumi's runtime tasks behind, and they
    # must not run beside later tests (CPython 3.11's ast then fails other threads' parses).
    done = subprocess.run(
        [sys.executable, "-c", FAILING_PROGRAM],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "program failed: storing failed" in done.stdout, done.stdout + done.stderr


def test_a_config_copy_left_by_a_killed_first_up_goes_with_the_store(tmp_path: Path) -> None:
    store = _store(tmp_path, {"storestack:spec": "{}"})
    project = tmp_path / "pulumi" / "project"
    left, other = (
        project / ".first-up-abc" / "Pulumi.shop.yaml",
        project / ".first-up-def" / "Pulumi.other.yaml",
    )
    for path in (left, other):
        path.parent.mkdir()
        path.write_text("encryptionsalt: v1:x\n")
    store.forget("shop")
    assert not left.parent.exists() and other.exists()


def test_storing_leaves_no_copy_and_raises_what_failed(tmp_path: Path) -> None:
    store = _store(tmp_path, {"storestack:spec": "{}"})  # "pulumi" is not a command here: it fails
    failed = pytest.raises(OperationFailedError, match="storing the credentials of store 'shop' failed")
    with failed, store.storing("shop", generate_credentials()) as (stored, copy):
        assert copy.read_text() == (tmp_path / "pulumi" / "project" / "Pulumi.shop.yaml").read_text()
        with pytest.raises(OperationFailedError):
            stored.result(timeout=30)
    assert not list((tmp_path / "pulumi" / "project").glob(".first-up-*"))
