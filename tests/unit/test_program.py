"""The inline program: credentials from stack config, the env+spec mapping, the exports."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pulumi
import pytest

import environments
from stacks.program import CREDENTIAL_KEYS, generate_credentials, store_args, store_program
from stacks.types import StoreSpec
from tests.unit.conftest import credential_values, sentinel
from tests.unit.harness import deploy, plain

SALTS = (
    "auth_key",
    "secure_auth_key",
    "logged_in_key",
    "nonce_key",
    "auth_salt",
    "secure_auth_salt",
    "logged_in_salt",
    "nonce_salt",
)


def test_credential_keys() -> None:
    assert set(CREDENTIAL_KEYS) == {"mysql_root_password", "mysql_password", "admin_password", *SALTS}
    assert len(CREDENTIAL_KEYS) == 11


def test_generated_credentials_are_strong_and_shell_safe() -> None:
    first, second = generate_credentials(), generate_credentials()
    assert tuple(first) == CREDENTIAL_KEYS
    safe = set(string.ascii_letters + string.digits)
    for key, value in first.items():
        assert set(value) <= safe, key
        assert len(value) == (64 if key in SALTS else 32), key
        assert value != second[key]
    assert len(set(first.values())) == len(first)


def run_program(spec: StoreSpec, env_name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    exported: dict[str, pulumi.Output[Any]] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exported.__setitem__(name, value))
    config = {f"storestack:{key}": sentinel(key) for key in CREDENTIAL_KEYS}
    program = store_program(spec, environments.load(env_name))

    def run() -> dict[str, pulumi.Output[Any]]:
        program()
        secret_flag: pulumi.Output[bool] = pulumi.Output.from_input(exported["admin_password"].is_secret())
        return {**exported, "admin_password_is_secret": secret_flag}

    deployment = deploy(run, config=config)
    secret = deployment.one("kubernetes:core/v1:Secret")
    return {"outputs": deployment.outputs, "secret": plain(secret.inputs["stringData"])}


def test_program_reads_secrets_from_config_and_exports_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_program(StoreSpec(name="demo"), "sim", monkeypatch)
    outputs = result["outputs"]
    assert outputs == {
        "namespace": "store-demo",
        "url": "http://demo.sim.storestack.test/",
        "admin_url": "http://demo.sim.storestack.test/wp-admin/",
        "admin_user": "admin",
        "admin_password": sentinel("admin_password"),
        "admin_password_is_secret": True,
        "web_address": "",  # the mocks give the Service no cluster IP
    }
    assert result["secret"]["mysql-root-password"] == sentinel("mysql_root_password")
    assert result["secret"]["wordpress-nonce-salt"] == sentinel("nonce_salt")


def test_program_can_render_manifests_instead_of_applying(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pulumi, "export", lambda name, value: None)
    config = {f"storestack:{key}": sentinel(key) for key in CREDENTIAL_KEYS}
    program = store_program(StoreSpec(name="demo"), environments.load("sim"), render_to=tmp_path)
    deployment = deploy(lambda: program() and None, config=config)
    [renderer] = deployment.of_type("pulumi:providers:kubernetes")
    assert renderer.inputs["renderYamlToDirectory"] == str(tmp_path)
    objects = list(deployment.kubernetes())
    assert objects
    for resource in objects:
        assert resource.provider.startswith(renderer.urn + "::"), resource.name


def test_program_requires_every_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    program = store_program(StoreSpec(name="demo"), environments.load("sim"))
    with pytest.raises(pulumi.ConfigMissingError):
        deploy(lambda: program() and None, config={"storestack:mysql_root_password": "x"})


def test_mapping_from_environment_and_spec() -> None:
    env = environments.load("prod")
    spec = StoreSpec(name="acme", title="", admin_email="ops@acme.test")
    args = store_args(spec, env, credential_values())
    assert args.store_name == "acme"
    assert args.host == "acme.stores.example.com"
    assert args.base_url == "https://acme.stores.example.com"
    assert args.title == "acme"  # the spec's display title defaults to the name
    assert args.admin_email == "ops@acme.test"
    assert args.engine == "woocommerce"
    assert args.database.image == env.images.mysql
    assert args.app.images == {"wordpress": env.images.wordpress, "wordpress_cli": env.images.wordpress_cli}
    assert args.app.version == env.woocommerce_version
    assert args.app.storage_size == env.storage.wordpress_size
    assert args.storage_class == "local-path"
    assert args.ingress.tls_issuer == "letsencrypt-prod"
    assert args.ingress.controller_pod_labels == {"app.kubernetes.io/name": "traefik"}
    assert args.egress.internet_for_web is True
    assert args.quota.pods == env.quota.pods
    assert args.shop.currency == env.store_defaults.currency


def test_preload_sdk_loads_every_sdk_group_the_components_use() -> None:
    """The SDK's lazy modules are not thread-safe: every ``k8s.<group>.<version>`` the components
    or the program use must be in ``SDK_GROUPS``, and after ``preload_sdk`` (in a fresh process)
    each is a fully executed module."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    from stacks.program import SDK_GROUPS

    repo = Path(__file__).resolve().parents[2]
    sources = [*(repo / "components").rglob("*.py"), repo / "stacks" / "program.py"]
    used = {m for path in sources for m in re.findall(r"k8s\.([a-z_]+\.v[0-9a-z]+)\.", path.read_text())}
    assert used <= set(SDK_GROUPS), used - set(SDK_GROUPS)
    check = (
        "import sys, types\n"
        "from stacks.program import SDK_GROUPS, preload_sdk\n"
        "preload_sdk()\n"
        "mods = {g: sys.modules['pulumi_kubernetes.' + g] for g in SDK_GROUPS}\n"
        "lazy = [g for g, m in mods.items() if type(m) is not types.ModuleType]\n"
        "print(lazy)\n"
    )
    done = subprocess.run([sys.executable, "-c", check], cwd=repo, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
