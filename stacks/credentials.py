"""A store's generated credentials in its stack config: made once, stored encrypted, never rotated.

``Fleet`` calls this module. The credentials are one secret config value
(``storestack:credentials``, see ``stacks.program``), encrypted into the stack config file in
process (``stacks.secret_config``: microseconds once the process has derived the salt's key, about
0.2 s the first time) or, for a salt it cannot use, with ``pulumi config set --secret`` and the value
on stdin (about 0.4 s); never on a command line. A store's first ``up`` does not wait for either:
``storing`` stores them beside the update, whose program gets the new values from memory
(``program.pending_credentials``) and gives them to nothing before they are stored, so no
credential reaches the cluster unless it is also stored. The update reads a copy of the stack
config made before, so the update never reads a file being written.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from stacks.errors import InvalidSpecError, OperationFailedError
from stacks.files import write_whole
from stacks.program import CONFIG_NAMESPACE, CREDENTIALS_KEY, credentials_stored, generate_credentials
from stacks.runtime import FleetConfig
from stacks.secret_config import SecretConfig
from stacks.state import config_keys

SECRET_TYPE = "kubernetes:core/v1:Secret"  # noqa: S105 - a resource type


class CredentialStore:
    """Reads and stores the credentials of the stores of one fleet."""

    def __init__(
        self,
        config: FleetConfig,
        pulumi: str,
        env: Mapping[str, str],
        *,
        on_stored: Callable[[str], None] = lambda _name: None,
    ) -> None:
        self._config, self._pulumi, self._env = config, pulumi, dict(env)
        self._on_stored = on_stored  # keeps the changed config where other replicas read it
        self._secrets = SecretConfig(config.passphrase.get_secret_value())

    def fresh(self, name: str, resources: Sequence[Mapping[str, Any]]) -> dict[str, str] | None:
        """New credentials for a store that has none stored; ``None`` if it has.

        A store whose Secret is in its state but whose credentials are missing from its config is
        refused: MySQL keeps the passwords it started with, so new ones would lock the store out."""
        if credentials_stored(config_keys(self._config, name)):
            return None
        if any(r.get("type") == SECRET_TYPE for r in resources):
            raise InvalidSpecError(
                f"store '{name}' has resources but its credentials are missing from its stack "
                f"config ({self._config.project_dir / f'Pulumi.{name}.yaml'}, or the shared copy); "
                "restore it"
            )
        return generate_credentials()

    def store(self, name: str, values: Mapping[str, str]) -> None:
        """Encrypt the credentials into the stack config (``stacks.secret_config``; where it cannot,
        ``pulumi config set --secret`` with the value on stdin); then ``on_stored`` (which shares
        the config), so no credential is used before it is kept."""
        key = f"{CONFIG_NAMESPACE}:{CREDENTIALS_KEY}"
        if self._write_secret(name, key, json.dumps(dict(values))):
            self._on_stored(name)
            return
        try:
            proc = subprocess.run(
                [self._pulumi, "config", "set", "--secret", key, "--stack", name],
                input=json.dumps(dict(values)),
                cwd=self._config.project_dir,
                env={**os.environ, **self._env},
                capture_output=True,
                text=True,
                check=False,
            )
            why = proc.stderr.strip()[-300:] if proc.returncode != 0 else None
        except OSError as exc:
            why = f"{type(exc).__name__}: {exc.strerror}"
        if why is not None:
            raise OperationFailedError(
                f"storing the credentials of store '{name}' failed: {why}",
                temporary=True,
                reason="config_failed",
            )
        self._on_stored(name)

    def _write_secret(self, name: str, key: str, value: str) -> bool:
        """Put ``key: {secure: ...}`` in the stack config file directly (atomic rename); ``False``
        if its salt is not one ``stacks.secret_config`` can use."""
        path = self._config.project_dir / f"Pulumi.{name}.yaml"
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            return False
        salt = data.get("encryptionsalt") if isinstance(data, dict) else None
        secure = self._secrets.encrypt(salt, value) if isinstance(salt, str) else None
        if secure is None or not isinstance(data.get("config", {}), dict):
            return False
        data.setdefault("config", {})[key] = {"secure": secure}
        write_whole(path, yaml.safe_dump(data, sort_keys=False))
        return True

    def forget(self, name: str) -> None:
        """Remove the copies of the store's config a killed first up left (``storing``)."""
        for copy in self._config.project_dir.glob(f".first-up-*/Pulumi.{name}.yaml"):
            shutil.rmtree(copy.parent, ignore_errors=True)

    @contextmanager
    def storing(
        self, name: str, values: Mapping[str, str]
    ) -> Iterator[tuple[concurrent.futures.Future[None], Path]]:
        """Store ``values`` in a thread; yields the call's future and a private copy of the stack
        config (made before the call) for the update to read. On leaving, waits for the call and
        raises its error if it failed."""
        source = self._config.project_dir / f"Pulumi.{name}.yaml"
        folder = Path(tempfile.mkdtemp(prefix=".first-up-", dir=self._config.project_dir))
        copy = folder / source.name
        shutil.copyfile(source, copy)
        stored: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            try:
                self.store(name, values)
            except BaseException as exc:  # handed to the update's program and to the caller
                stored.set_exception(exc)
            else:
                stored.set_result(None)

        thread = threading.Thread(target=run, name=f"storestack-credentials-{name}", daemon=True)
        thread.start()
        try:
            yield stored, copy
        finally:
            thread.join()
            shutil.rmtree(folder, ignore_errors=True)
        stored.result()
