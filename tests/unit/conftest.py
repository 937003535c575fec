"""Fixtures of the unit tests: the packaged environments and stores deployed against Pulumi mocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

import environments
from components import CredentialValues, Store
from stacks.program import CREDENTIAL_KEYS, store_args
from stacks.types import StoreSpec
from tests.unit.harness import Deployment, deploy

STORE = "shop"


def sentinel(key: str) -> str:
    """A recognisable fake credential: tests scan specs for it."""
    return f"SENTINEL{key.replace('_', '').upper()}x9"


def credential_values() -> CredentialValues:
    return CredentialValues(**{key: pulumi.Output.secret(sentinel(key)) for key in CREDENTIAL_KEYS})


def deploy_store(env: environments.Environment, spec: StoreSpec | None = None) -> Deployment:
    spec = spec or StoreSpec(name=STORE, title="Bob's Shop", admin_email="bob@example.org")

    def program() -> dict[str, pulumi.Output[Any]]:
        store = Store(spec.name, store_args(spec, env, credential_values()))
        return {
            "namespace": store.namespace,
            "url": store.url,
            "admin_url": store.admin_url,
            "admin_user": store.admin_user,
            "admin_password": store.admin_password,
            "admin_password_is_secret": pulumi.Output.from_input(store.admin_password.is_secret()),
        }

    return deploy(program)


_CACHE: dict[str, Deployment] = {}


@pytest.fixture(scope="session")
def deployed() -> Callable[[str], Deployment]:
    """``deployed("sim")``: the store ``shop`` declared with that packaged environment (cached)."""

    def get(env_name: str) -> Deployment:
        if env_name not in _CACHE:
            _CACHE[env_name] = deploy_store(environments.load(env_name))
        return _CACHE[env_name]

    return get


@pytest.fixture(params=["sim", "local", "prod"])
def env_name(request: pytest.FixtureRequest) -> str:
    """Each packaged environment in turn."""
    return str(request.param)
