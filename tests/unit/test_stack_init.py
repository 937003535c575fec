"""When ``stacks.stack_init`` copies a new stack from the template, and when it leaves the job to
``pulumi stack init`` (the engine taking the copy is tests/cluster/test_store.py's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from stacks.stack_init import StackTemplate

SALT = "v1:Mhc4km/X4EA=:v1:fnm8J36e/wdXqvko:gWk7g5OopUGVa0UACFyJl0w26s0whw=="


def _initial(stack: str = "organization/storestack/first", **latest: Any) -> dict[str, Any]:
    return {
        "version": 3,
        "checkpoint": {
            "stack": stack,
            "latest": {
                "manifest": {"time": "2026-12-07T03:01:11.704892563Z", "magic": "m", "version": "v3.274.1"},
                "secrets_providers": {"type": "passphrase", "state": {"salt": SALT}},
                "metadata": {},
                **latest,
            },
        },
    }


class Backend:
    """A file backend laid out as the CLI leaves it, and a workspace beside it."""

    def __init__(self, root: Path) -> None:
        self.stacks = root / "state" / ".pulumi" / "stacks" / "storestack"
        self.stacks.mkdir(parents=True)
        (root / "state" / ".pulumi" / "meta.yaml").write_text("version: 1\n")
        self.project = root / "project"
        self.project.mkdir()

    def checkpoint(self, name: str) -> Path:
        return self.stacks / f"{name}.json"

    def config(self, name: str) -> Path:
        return self.project / f"Pulumi.{name}.yaml"

    def made_by_cli(self, name: str, state: dict[str, Any], salt: str = SALT) -> None:
        self.checkpoint(name).write_text(json.dumps(state))
        self.config(name).write_text(yaml.safe_dump({"encryptionsalt": salt}))

    def template(self) -> StackTemplate:
        template = StackTemplate()
        self.made_by_cli("first", _initial())
        template.remember(self.checkpoint("first"), self.config("first"))
        return template

    def create(self, template: StackTemplate, name: str) -> bool:
        return template.create(self.checkpoint(name), self.config(name), name)


def test_a_new_stack_is_the_template_with_its_own_name_time_and_the_same_salt(tmp_path: Path) -> None:
    backend = Backend(tmp_path)
    template = backend.template()
    backend.config("second").write_text(yaml.safe_dump({"config": {"storestack:spec": "{}"}}))
    assert backend.create(template, "second")
    state = json.loads(backend.checkpoint("second").read_text())
    assert state["checkpoint"]["stack"] == "organization/storestack/second"
    latest = state["checkpoint"]["latest"]
    assert latest["secrets_providers"] == {"type": "passphrase", "state": {"salt": SALT}}
    assert latest["manifest"]["version"] == "v3.274.1" and latest["manifest"]["magic"] == "m"
    assert not latest["manifest"]["time"].startswith("2026-12-07T03:01:11")
    config = yaml.safe_load(backend.config("second").read_text())
    assert config == {"encryptionsalt": SALT, "config": {"storestack:spec": "{}"}}
    assert sorted(p.name for p in backend.stacks.iterdir()) == ["first.json", "second.json"]


def test_without_a_template_or_the_cli_layout_the_cli_makes_the_stack(tmp_path: Path) -> None:
    backend = Backend(tmp_path)
    assert not backend.create(StackTemplate(), "second")
    template = backend.template()
    (tmp_path / "state" / ".pulumi" / "meta.yaml").unlink()  # a layout the CLI has not set up
    assert not backend.create(template, "second")
    assert not backend.checkpoint("second").exists() and not backend.config("second").exists()


def test_what_is_not_a_fresh_passphrase_stack_is_not_remembered(tmp_path: Path) -> None:
    backend = Backend(tmp_path)
    cases = {
        "resources": (_initial(resources=[{"urn": "u"}]), SALT),
        "other-salt": (_initial(), "v1:other"),
        "cloud": (_initial(secrets_providers={"type": "cloud", "state": {}}), SALT),
        "legacy": ({**_initial(), "version": 2}, SALT),
        "no-manifest": (_initial(manifest=None), SALT),
    }
    for name, (state, salt) in cases.items():
        template = StackTemplate()
        backend.made_by_cli(name, state, salt)
        template.remember(backend.checkpoint(name), backend.config(name))
        assert not backend.create(template, f"new-{name}"), name


def test_a_config_with_its_own_salt_or_secrets_or_an_existing_stack_is_left_to_the_cli(
    tmp_path: Path,
) -> None:
    backend = Backend(tmp_path)
    template = backend.template()
    own = {
        "salted": {"encryptionsalt": "v1:mine"},
        "secret": {"config": {"storestack:credentials": {"secure": "v1:abc"}}},
        "broken": "{not yaml",
    }
    for name, content in own.items():
        text = content if isinstance(content, str) else yaml.safe_dump(content)
        backend.config(name).write_text(text)
        assert not backend.create(template, name), name
        assert backend.config(name).read_text() == text and not backend.checkpoint(name).exists()
    backend.checkpoint("taken").write_text("{}")  # made meanwhile by another process
    assert not backend.create(template, "taken")
    assert backend.checkpoint("taken").read_text() == "{}" and not backend.config("taken").exists()
    assert not [p for p in backend.stacks.iterdir() if p.name.endswith(".new")]
