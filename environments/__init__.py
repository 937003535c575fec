"""Environments: the per-cluster settings of Storestack, as YAML files plus a typed loader.

``load("sim")`` reads the packaged ``environments/sim.yaml``; ``load("/path/to/x.yaml")`` reads that
file. Both return a validated ``Environment`` or raise ``EnvironmentError`` whose message names the file,
the dotted field path and what is wrong, e.g.::

    environments/prod.yaml: storage.mysql_size: '2 Gi' is not a memory/storage quantity (e.g. '512Mi')

Called by ``stacks`` (``Fleet``, ``stacks.program``) and the API settings; it imports nothing of
Storestack's other layers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from environments.model import ConsistencyError, Environment, plan_refusal

__all__ = ["Environment", "EnvironmentError", "available", "load", "plan_refusal"]

PACKAGE_DIR = Path(__file__).resolve().parent


class EnvironmentError(ValueError):
    """An environment file is missing, is not YAML, or does not fit the ``Environment`` model.

    ``file`` is the file as shown to users; ``problems`` lists (dotted field path, message) pairs
    (the path is empty for file-level problems). The message has one ``file: path: message`` line per
    problem.
    """

    def __init__(self, file: str, problems: list[tuple[str, str]]) -> None:
        self.file = file
        self.problems = problems
        lines = [f"{file}: {path}: {message}" if path else f"{file}: {message}" for path, message in problems]
        super().__init__("\n".join(lines))


def available() -> list[str]:
    """Names of the packaged environments (the YAML files beside this module), sorted."""
    return sorted(p.stem for p in PACKAGE_DIR.glob("*.yaml"))


def _is_path(name_or_path: str) -> bool:
    return "/" in name_or_path or "\\" in name_or_path or name_or_path.endswith((".yaml", ".yml"))


def load(name_or_path: str) -> Environment:
    """Load and validate an environment: a packaged name (``"sim"``) or a path to a YAML file."""
    if _is_path(name_or_path):
        path = Path(name_or_path).expanduser()
        shown = name_or_path
        if not path.is_file():
            raise EnvironmentError(shown, [("", "no such file")])
    else:
        path = PACKAGE_DIR / f"{name_or_path}.yaml"
        shown = f"environments/{name_or_path}.yaml"
        if not path.is_file():
            known = ", ".join(available()) or "none"
            raise EnvironmentError(shown, [("", f"unknown environment {name_or_path!r} (known: {known})")])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EnvironmentError(shown, [("", f"cannot read: {exc.strerror or exc}")]) from None
    return parse(text, file=shown)


def parse(text: str, *, file: str) -> Environment:
    """Validate YAML text as an ``Environment``; ``file`` names it in errors."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise EnvironmentError(file, [("", f"invalid YAML{where}: {problem}")]) from None
    if not isinstance(data, dict):
        raise EnvironmentError(file, [("", "expected a mapping of settings at the top level")])
    try:
        return Environment.model_validate(data)
    except ValidationError as exc:
        raise EnvironmentError(file, _problems(exc)) from None


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for error in exc.errors():
        original = (error.get("ctx") or {}).get("error")
        prefix = _dotted(error["loc"])
        if isinstance(original, ConsistencyError):
            for path, message in original.problems:
                problems.append((f"{prefix}.{path}" if prefix else path, message))
            continue
        kind = error["type"]
        if kind == "extra_forbidden":
            message = "unknown field (not part of the environment model)"
        elif kind == "missing":
            message = "required field is missing"
        elif isinstance(original, ValueError):
            message = str(original)
        else:
            message = error["msg"]
        problems.append((prefix, message))
    return problems
