"""Import rules of the leaf layers (the full contract is in pyproject's import-linter section)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ALLOWED = {
    "components": {"pulumi", "pulumi_kubernetes", "pydantic", "components"},
    "environments": {"pydantic", "yaml", "environments"},
}
FORBIDDEN_IN_PROGRAM = {"pulumi.automation", "api", "fastapi", "sqlmodel", "sqlalchemy"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_leaf_layers_import_only_what_they_may(package: str) -> None:
    import sys

    stdlib = sys.stdlib_module_names
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in imports(path):
            top = module.split(".")[0]
            if top in stdlib or top == "__future__":
                continue
            assert top in ALLOWED[package], f"{path.relative_to(ROOT)} imports {module}"
            assert not module.startswith("pulumi.automation"), f"{path.relative_to(ROOT)} imports {module}"


def test_program_does_not_use_the_automation_api() -> None:
    for module in imports(ROOT / "stacks" / "program.py"):
        assert not any(module == f or module.startswith(f + ".") for f in FORBIDDEN_IN_PROGRAM), module
