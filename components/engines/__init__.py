"""The store engines: a registry from engine name to the ``Engine`` that contributes the app workload.

``components.store.Store`` looks up ``StoreArgs.engine`` here: ``woocommerce`` (WordPress + WooCommerce
on MySQL) and ``medusa`` (MedusaJS on PostgreSQL). Adding an engine means a module beside these with a
class satisfying ``components.engines.base.Engine``, and one entry in ``ENGINES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from components.common import ShopSettings
from components.engines.base import AppArgs, AppSettings, AppWorkload, Engine
from components.engines.medusa import Medusa, MedusaEngine
from components.engines.woocommerce import WooCommerce, WooCommerceEngine

ENGINES: Mapping[str, Engine] = MappingProxyType(
    {"woocommerce": WooCommerceEngine(), "medusa": MedusaEngine()}
)
"""Every known engine by name."""


def get_engine(name: str) -> Engine:
    """The engine registered as ``name``; ``ValueError`` naming it and the known engines otherwise."""
    try:
        return ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise ValueError(f"unknown store engine {name!r}; known engines: {known}") from None


__all__ = [
    "ENGINES",
    "AppArgs",
    "AppSettings",
    "AppWorkload",
    "Engine",
    "Medusa",
    "MedusaEngine",
    "ShopSettings",
    "WooCommerce",
    "WooCommerceEngine",
    "get_engine",
]
