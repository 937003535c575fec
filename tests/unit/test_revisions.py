"""Environment revisions (``environments.revisions``) and what a store's stack config records of
them (``stacks.stack_config``): merging, validation naming the field, and the read-back."""

from __future__ import annotations

from pathlib import Path

import pytest

import environments
from environments.revisions import changed_fields, merge, revise
from stacks import stack_config
from stacks.types import BASE_REVISION, Revision, StoreSpec


def test_merge_is_recursive_for_mappings_and_replaces_the_rest() -> None:
    base = {"images": {"wordpress": "a", "mysql": "m"}, "plans": {"x": 1}, "list": [1, 2]}
    merged = merge(base, {"images": {"wordpress": "b"}, "list": [3]})
    assert merged == {"images": {"wordpress": "b", "mysql": "m"}, "plans": {"x": 1}, "list": [3]}
    assert base["images"] == {"wordpress": "a", "mysql": "m"}  # not changed in place
    assert changed_fields({"images": {"wordpress": "b"}, "woocommerce_version": "1.2.3"}) == [
        "images.wordpress",
        "woocommerce_version",
    ]


@pytest.mark.parametrize("name", environments.available())
def test_every_environment_takes_a_revision_and_an_empty_one_changes_nothing(name: str) -> None:
    env = environments.load(name)
    assert revise(env, {}) is env
    assert revise(env, {"woocommerce_version": env.woocommerce_version}) == env
    changed = revise(
        env,
        {
            "images": {"wordpress": "wordpress:6.9.0"},
            "resources": {"mysql": {"requests": {"memory": "100Mi"}}},
        },
    )
    assert changed.images.wordpress == "wordpress:6.9.0" and changed.images.mysql == env.images.mysql
    assert changed.resources.mysql.requests.memory == "100Mi"
    assert changed.resources.mysql.limits == env.resources.mysql.limits


def test_a_bad_revision_names_the_field() -> None:
    env = environments.load("sim")
    with pytest.raises(environments.EnvironmentError) as bad:
        revise(env, {"woocommerce_version": "latest", "images": {"nginx": "x"}}, label="revision 3")
    text = str(bad.value)
    assert "revision 3: woocommerce_version:" in text and "images.nginx: unknown field" in text
    with pytest.raises(environments.EnvironmentError, match="domain: is fixed"):
        revise(env, {"domain": "other.example"})
    with pytest.raises(environments.EnvironmentError, match="setup_retries"):
        revise(env, {"setup_retries": 99})


def test_the_stack_config_keeps_the_spec_and_revision_a_store_was_deployed_with(tmp_path: Path) -> None:
    path = stack_config.config_path(tmp_path, "kept")
    assert stack_config.read(path, "kept") == (StoreSpec(name="kept"), BASE_REVISION)
    spec = StoreSpec(name="kept", title="Kept", plan="medium")
    revision = Revision(number=4, overrides={"images": {"wordpress": "wordpress:6.9.0"}})
    path.write_text("config:\n  storestack:credentials: {secure: abc}\n")
    stack_config.write(path, spec, "sim", revision)
    assert stack_config.read(path, "kept") == (spec, revision)
    assert "storestack:credentials" in path.read_text()  # the rest of the file is kept
    path.write_text("config: [not, a, mapping")
    assert stack_config.read(path, "kept") == (StoreSpec(name="kept"), BASE_REVISION)  # unreadable
