"""Secret config values encrypted in process (``stacks.secret_config``) are what the pulumi CLI
reads, and a salt they cannot use is left to the CLI (``stacks.credentials`` falls back)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml
from pydantic import SecretStr

from stacks.credentials import CredentialStore
from stacks.runtime import FleetConfig, pulumi_env, write_project_file
from stacks.secret_config import SecretConfig

PASSPHRASE = "correct horse battery staple"


def _stack(tools: Path, tmp_path: Path) -> tuple[FleetConfig, dict[str, str]]:
    """A stack ``shop`` made by ``pulumi stack init`` in a file backend."""
    config = FleetConfig(data_dir=tmp_path, passphrase=SecretStr(PASSPHRASE), tools_dir=tools)
    config.project_dir.mkdir(parents=True)
    config.state_dir.mkdir(parents=True)
    write_project_file(config)
    env = {**os.environ, **pulumi_env(config)}
    _pulumi(config, env, "stack", "init", "shop", "--secrets-provider", "passphrase")
    return config, env


def _pulumi(config: FleetConfig, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(config.tools_dir / "bin" / "pulumi"), "--non-interactive", *args],
        cwd=config.project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_cli_reads_credentials_stored_without_it(tools: Path, tmp_path: Path) -> None:
    config, env = _stack(tools, tmp_path)
    values = {"admin_password": 'p@ss: wörd/"quoted"', "mysql_password": "x" * 40}
    store = CredentialStore(config, "no-such-command", env)  # the CLI fallback would fail
    store.store("shop", values)
    stored = yaml.safe_load((config.project_dir / "Pulumi.shop.yaml").read_text())
    secure = stored["config"]["storestack:credentials"]["secure"]
    assert secure.startswith("v1:") and "wörd" not in secure
    read = _pulumi(config, env, "config", "get", "storestack:credentials", "--stack", "shop")
    assert json.loads(read) == values
    # The CLI's own secrets and ours sit side by side under the same salt.
    _pulumi(config, env, "config", "set", "--secret", "storestack:other", "--stack", "shop", "--", "cli-made")
    assert _pulumi(config, env, "config", "get", "storestack:other", "--stack", "shop").strip() == "cli-made"


def test_a_salt_of_another_passphrase_or_form_is_not_used(tools: Path, tmp_path: Path) -> None:
    config, _ = _stack(tools, tmp_path)
    salt = yaml.safe_load((config.project_dir / "Pulumi.shop.yaml").read_text())["encryptionsalt"]
    assert SecretConfig(PASSPHRASE).encrypt(salt, "v") is not None
    assert SecretConfig("another passphrase").encrypt(salt, "v") is None
    for bad in ("", "v1:abc", "v2:" + salt[3:], salt.replace("v1:", "v1:!", 1), salt[:-4]):
        assert SecretConfig(PASSPHRASE).encrypt(bad, "v") is None, bad
