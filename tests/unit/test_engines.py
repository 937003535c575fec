"""The engine registry: known engines, and a clear error for unknown ones."""

from __future__ import annotations

from dataclasses import replace

import pytest

import environments
from components import ENGINES, AppSettings, Store, get_engine
from components.engines import WooCommerceEngine
from stacks.program import store_args
from stacks.types import ENGINES as SPEC_ENGINES
from stacks.types import StoreSpec
from tests.unit.conftest import credential_values
from tests.unit.harness import deploy


def test_registry_matches_the_spec_engines() -> None:
    assert set(ENGINES) == set(SPEC_ENGINES)
    assert isinstance(get_engine("woocommerce"), WooCommerceEngine)


def test_unknown_engine_names_it_and_the_known_ones() -> None:
    known = r"unknown store engine 'shopify'; known engines: medusa, woocommerce"
    with pytest.raises(ValueError, match=known):
        get_engine("shopify")


def test_store_with_unknown_engine_fails_clearly() -> None:
    args = replace(
        store_args(StoreSpec(name="shop"), environments.load("sim"), credential_values()), engine="shopify"
    )

    def program() -> None:
        Store("shop", args)

    with pytest.raises(ValueError, match="shopify") as caught:
        deploy(program)
    assert "woocommerce" in str(caught.value)


def test_woocommerce_needs_its_images_and_resources() -> None:
    args = store_args(StoreSpec(name="shop"), environments.load("sim"), credential_values())
    crippled = replace(args, app=AppSettings(version="10.3.5", images={}, resources={}, storage_size="1Gi"))
    with pytest.raises(ValueError, match=r"images\.wordpress, images\.wordpress_cli, resources\.wordpress"):
        Store("shop", crippled)


def test_woocommerce_without_setup_needs_no_setup_image_or_resources() -> None:
    args = store_args(StoreSpec(name="shop"), environments.load("sim"), credential_values())
    wordpress_only = replace(
        args,
        app=replace(
            args.app,
            run_setup=False,
            images={"wordpress": args.app.images["wordpress"]},
            resources={"wordpress": args.app.resources["wordpress"]},
        ),
    )

    def program() -> None:
        Store("shop", wordpress_only)

    kinds = {r.typ for r in deploy(program).resources}
    assert "kubernetes:apps/v1:Deployment" in kinds
    assert "kubernetes:batch/v1:Job" not in kinds


def test_store_args_carry_the_environments_woocommerce_setup() -> None:
    env = environments.load("sim")
    assert store_args(StoreSpec(name="shop"), env, credential_values()).app.run_setup is True
    off = env.model_copy(update={"woocommerce_setup": False})
    assert store_args(StoreSpec(name="shop"), off, credential_values()).app.run_setup is False
