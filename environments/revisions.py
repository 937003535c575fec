"""Environment revisions: an environment as changed by a recorded set of overrides.

A revision (kept by the control plane, rolled out by ``api.rollouts``) is the environment file plus a
mapping of overrides: nested mappings merge key by key, anything else (a string, a list) replaces the
file's value. ``revise(env, overrides)`` returns the changed environment, validated like a file, or
raises ``EnvironmentError`` naming the field. ``merge`` makes a revision's overrides from the previous
revision's and a change. Called by ``stacks.Fleet`` (to build a store on its revision) and the API
(to validate a new revision before it is recorded).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from environments import EnvironmentError, _problems
from environments.model import Environment

# The identity of an environment and of its stores' host names: not something a revision changes.
FIXED_FIELDS = ("name", "domain", "scheme")


def merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied: mappings merge recursively, other values replace."""
    merged: dict[str, Any] = dict(base)
    for key, value in changes.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = merge(current, value)
        else:
            merged[key] = value
    return merged


def revise(env: Environment, overrides: Mapping[str, Any], *, label: str = "revision") -> Environment:
    """``env`` with ``overrides`` applied and validated; ``EnvironmentError`` (shown as ``label``)
    names each field that is wrong, or a fixed field (name, domain, scheme) that was changed."""
    if not overrides:
        return env
    fixed = [(key, "is fixed for an environment; a revision cannot change it") for key in FIXED_FIELDS]
    problems = [(key, message) for key, message in fixed if key in overrides]
    if problems:
        raise EnvironmentError(label, problems)
    data = merge(env.model_dump(mode="json", exclude_unset=False), overrides)
    try:
        return Environment.model_validate(data)
    except ValidationError as exc:
        raise EnvironmentError(label, _problems(exc)) from None


def changed_fields(overrides: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted paths a set of overrides sets, e.g. ``["images.wordpress", "woocommerce_version"]``."""
    paths: list[str] = []
    for key, value in overrides.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            paths.extend(changed_fields(value, path))
        else:
            paths.append(path)
    return paths
