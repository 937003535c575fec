"""The store engines as the API shows them: ``GET /api/v1/engines`` (``api.routes.plans``), the
dashboard's engine menu and labels (``api.routes.home``), and the CLI's ``storestack engines``."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

ENGINE_LABELS = {"woocommerce": "WooCommerce", "medusa": "MedusaJS"}
ENGINE_DESCRIPTIONS = {
    "woocommerce": "WordPress + WooCommerce on MySQL; the admin is WordPress's (/wp-admin/), signed in "
    "with the user name admin",
    "medusa": "MedusaJS 2 (headless commerce: the Store API for storefronts, the admin dashboard at "
    "/app/) on PostgreSQL; the admin signs in with the store's admin e-mail",
}


class EngineOut(BaseModel):
    """A store engine the environment offers, as ``GET /api/v1/engines`` lists it."""

    name: str = Field(description="the value of a create request's `engine`")
    label: str
    description: str


def offered_engines(names: Sequence[str]) -> list[EngineOut]:
    """The engines ``names`` as the API shows them."""
    return [EngineOut(name=n, label=ENGINE_LABELS[n], description=ENGINE_DESCRIPTIONS[n]) for n in names]
