"""Storestack components: pure Pulumi declarations of an isolated WooCommerce store.

``Store`` (token ``storestack:index:Store``) composes the parts, one module each: ``namespace``,
``guardrails``, ``credentials``, ``database``, the engine's workload (``engines.woocommerce``:
``wordpress`` + ``setup_job`` + ``cron``) and ``ingress``. Called by ``stacks.program``; usable
from any Pulumi program or notebook::

    from components import Store, StoreArgs

No I/O, no Automation API, no knowledge of environments: every value arrives through ``StoreArgs``.
"""

from components.common import (
    Compute,
    CronSettings,
    Resources,
    Scheduling,
    ShopSettings,
    Toleration,
    WebTuning,
)
from components.credentials import CredentialValues
from components.database import DatabaseSettings
from components.engines import ENGINES, get_engine
from components.engines.base import AppSettings
from components.guardrails import EgressSettings, LimitRangeSettings, QuotaSettings
from components.ingress import IngressSettings
from components.mail import MailRelay
from components.namespace import PodSecuritySettings, namespace_name
from components.store import Store, StoreArgs

__all__ = [
    "ENGINES",
    "AppSettings",
    "Compute",
    "CredentialValues",
    "CronSettings",
    "DatabaseSettings",
    "EgressSettings",
    "IngressSettings",
    "LimitRangeSettings",
    "MailRelay",
    "PodSecuritySettings",
    "QuotaSettings",
    "Resources",
    "Scheduling",
    "ShopSettings",
    "Store",
    "StoreArgs",
    "Toleration",
    "WebTuning",
    "get_engine",
    "namespace_name",
]
