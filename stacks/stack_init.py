"""Creating a store's stack on the file backend without a ``pulumi stack init`` process.

``pulumi stack init`` is the first step of a store's first ``up`` and costs 0.3-0.45 s, most of it
the passphrase's key derivation (1,000,000 rounds of PBKDF2) that every ``pulumi`` process touching
secrets repeats. What it leaves in a file backend is small: the checkpoint
``.pulumi/stacks/<project>/<store>.json`` (a manifest and the passphrase provider's state: its salt,
with a known text encrypted under the key) and ``encryptionsalt`` in ``Pulumi.<store>.yaml``.

So a ``StackTemplate`` keeps what the CLI wrote for the first stack this fleet created, and the next
stacks get a copy of it, with their own name and time: the same salt, so every store created by one
process shares it (they share the passphrase already; a salt only makes guessing it dearer). The
copy is made only where the CLI would have written the same thing: a file backend already laid out
by the CLI (``.pulumi/meta.yaml``), no checkpoint for the store yet, and a config file with no salt
and no secret value of its own. Anything else goes through ``pulumi stack init`` as before.

Called by ``stacks.state.StoreStack.open``; ``stacks.fleet.Fleet`` holds one template.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any

import yaml

from stacks.files import write_whole

_SALT_KEY = "encryptionsalt"


class StackTemplate:
    """The initial state of a stack ``pulumi stack init`` made in this process, to copy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, Any] | None = None
        self._stack_prefix = ""

    def remember(self, checkpoint: Path, config_file: Path) -> None:
        """Keep the state the CLI just wrote for a new stack, if it is one to copy: a passphrase
        provider whose salt the config file repeats, and no resources yet."""
        try:
            data = json.loads(checkpoint.read_text())
            salt = (yaml.safe_load(config_file.read_text()) or {}).get(_SALT_KEY)
        except (OSError, ValueError, yaml.YAMLError):
            return
        stack = (data.get("checkpoint") or {}).get("stack")
        latest = (data.get("checkpoint") or {}).get("latest") or {}
        providers = latest.get("secrets_providers") or {}
        if (
            data.get("version") != 3
            or not isinstance(stack, str)
            or "/" not in stack
            or latest.get("resources")
            or not isinstance(latest.get("manifest"), dict)
            or providers.get("type") != "passphrase"
            or not salt
            or (providers.get("state") or {}).get("salt") != salt
        ):
            return
        with self._lock:
            self._latest, self._stack_prefix = latest, stack.rsplit("/", 1)[0]

    def create(self, checkpoint: Path, config_file: Path, name: str) -> bool:
        """Write a new stack's checkpoint and its config's salt from the template; ``False`` (and
        nothing written) where ``pulumi stack init`` must make the stack instead."""
        with self._lock:
            latest, prefix = copy.deepcopy(self._latest), self._stack_prefix
        if latest is None or not (checkpoint.parents[2] / "meta.yaml").is_file():
            return False
        config = _own_config(config_file)
        if config is None:
            return False
        latest["manifest"]["time"] = dt.datetime.now(dt.UTC).isoformat()
        state = {"version": 3, "checkpoint": {"stack": f"{prefix}/{name}", "latest": latest}}
        if not _write_new(checkpoint, json.dumps(state)):
            return False  # made meanwhile: selected as it is
        salt = latest["secrets_providers"]["state"]["salt"]
        write_whole(config_file, yaml.safe_dump({_SALT_KEY: salt, **config}, sort_keys=False))
        return True


def _own_config(path: Path) -> dict[str, Any] | None:
    """The config file's contents if a template salt may be put in it (``{}`` if it is missing);
    ``None`` if it has a salt or a secret value already (the CLI keeps those)."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        return {}
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or data.get(_SALT_KEY) or data.get("encryptedkey"):
        return None
    values = data.get("config") or {}
    if not isinstance(values, dict) or any(isinstance(v, dict) and "secure" in v for v in values.values()):
        return None
    return data


def _write_new(path: Path, text: str) -> bool:
    """Write ``text`` to a new file ``path`` whole (a temporary file linked into place); ``False``
    (and the existing file kept) if ``path`` exists."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    tmp.write_text(text)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True
