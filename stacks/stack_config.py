"""What a store's stack config file (``Pulumi.<store>.yaml``) records beside its credentials: the spec
and the environment revision the store was last deployed with, as plain values.

``Fleet`` writes them before each ``up`` (directly, no ``pulumi config set`` process) and reads them
back for the operations that take only a store's name (refresh, drift check, destroy, outputs), so a
drift check compares the cluster with the program of the revision the store is really on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stacks.files import write_whole
from stacks.program import CONFIG_NAMESPACE
from stacks.types import BASE_REVISION, Revision, StoreSpec

SPEC_KEY = f"{CONFIG_NAMESPACE}:spec"
ENVIRONMENT_KEY = f"{CONFIG_NAMESPACE}:environment"
REVISION_KEY = f"{CONFIG_NAMESPACE}:revision"


def config_path(project_dir: Path, name: str) -> Path:
    return project_dir / f"Pulumi.{name}.yaml"


def write(path: Path, spec: StoreSpec, environment: str, revision: Revision) -> None:
    """Record ``spec``, the environment's name and ``revision``, when they changed (atomic rename)."""
    wanted = {
        SPEC_KEY: spec.model_dump_json(),
        ENVIRONMENT_KEY: environment,
        REVISION_KEY: revision.model_dump_json(),
    }
    data = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
    current = data.setdefault("config", {})
    if all(current.get(k) == v for k, v in wanted.items()):
        return
    current.update(wanted)
    write_whole(path, yaml.safe_dump(data, sort_keys=False))


def _config(path: Path) -> dict[str, Any]:
    """The file's ``config`` mapping; empty when the file is missing or unreadable."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError:
        return {}
    config = data.get("config") if isinstance(data, dict) else None
    return config if isinstance(config, dict) else {}


def _spec(raw: Any, name: str) -> StoreSpec:
    try:
        return StoreSpec.model_validate_json(raw) if isinstance(raw, str) else StoreSpec(name=name)
    except ValueError:
        return StoreSpec(name=name)


def _revision(raw: Any) -> Revision:
    try:
        return Revision.model_validate_json(raw) if isinstance(raw, str) else BASE_REVISION
    except ValueError:
        return BASE_REVISION


def read(path: Path, name: str) -> tuple[StoreSpec, Revision]:
    """The spec and revision the store was last deployed with, from one read of the file. A
    default spec and revision 0 where none is readable: an unreadable or outdated spec must not
    block destroy, refresh or reading outputs."""
    config = _config(path)
    return _spec(config.get(SPEC_KEY), name), _revision(config.get(REVISION_KEY))
