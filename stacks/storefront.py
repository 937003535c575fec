"""The storefront check that makes ``ready`` mean "a customer can shop" where a cluster serves HTTP.

Called by ``Fleet.up`` after Pulumi's awaits (``check_store``) where the environment asks for it:
``readiness.http_check`` for WooCommerce stores (local and prod), ``medusa.storefront_check`` for
Medusa stores; the simulated cluster runs no containers, so it asks for neither. The check goes to the
store's public URL (connected to ``readiness.ingress_address`` instead of resolving its host name
where that is set: the real node's Traefik), or with ``readiness.check_through: service`` to its web
Service's cluster IP with the store's Host header (a control plane in the cluster network, no ingress
controller).

- WooCommerce: GETs the home page (2xx/3xx), finds the sample product through the WooCommerce Store
  API, and puts it in a cart (``Cart-Token`` session) whose checkout offers cash on delivery (the
  payment method the setup job enables).
- Medusa: reads the store's publishable key and region (``/storestack/storefront``, the image's own
  route), lists the sample product through the Store API with that key, creates a cart in the region
  and adds the product.

No order is placed. Retries until the timeout, then raises a temporary ``OperationFailedError``
naming the step that failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from environments import Environment
from stacks.errors import OperationFailedError
from stacks.types import StoreInfo, StoreSpec

SAMPLE_PRODUCT_SLUG = "sample-product"


def _step(client: httpx.Client, base: str) -> str | None:
    """One attempt; returns None on success or the reason it failed."""
    home = client.get(base)
    if not 200 <= home.status_code < 400:
        return f"GET {base} answered {home.status_code}"
    products = client.get(f"{base}wp-json/wc/store/v1/products", params={"slug": SAMPLE_PRODUCT_SLUG})
    if products.status_code != 200:
        return f"the WooCommerce Store API answered {products.status_code} (permalinks or plugin not ready?)"
    items = products.json()
    if not isinstance(items, list) or not items:
        return f"the sample product '{SAMPLE_PRODUCT_SLUG}' is missing"
    cart = client.get(f"{base}wp-json/wc/store/v1/cart")
    token = cart.headers.get("Cart-Token")
    if cart.status_code != 200 or not token:
        return f"GET cart answered {cart.status_code} without a Cart-Token"
    added = client.post(
        f"{base}wp-json/wc/store/v1/cart/add-item",
        json={"id": items[0]["id"], "quantity": 1},
        headers={"Cart-Token": token},
    )
    if added.status_code not in (200, 201):
        return f"adding the sample product to a cart answered {added.status_code}"
    cart_after = added.json()
    if int(cart_after.get("items_count", 0)) < 1:
        return "the cart stayed empty after adding the sample product"
    methods = cart_after.get("payment_methods") or []
    if "cod" not in methods:  # the setup job enables cash on delivery: the cart must offer it
        return f"the cart offers no cash-on-delivery payment (payment methods: {methods})"
    return None


def _medusa_step(client: httpx.Client, base: str) -> str | None:
    """One attempt at a Medusa store; None on success or the reason it failed."""
    found = client.get(f"{base}storestack/storefront")
    if found.status_code != 200:
        return f"GET /storestack/storefront answered {found.status_code} (setup not done?)"
    storefront = found.json()
    headers = {"x-publishable-api-key": str(storefront["publishable_key"])}
    listed = client.get(f"{base}store/products", params={"handle": SAMPLE_PRODUCT_SLUG}, headers=headers)
    if listed.status_code != 200:
        return f"the Store API's product list answered {listed.status_code}"
    products = listed.json().get("products") or []
    if not products or not products[0].get("variants"):
        return f"the sample product '{SAMPLE_PRODUCT_SLUG}' is missing from the Store API"
    cart = client.post(f"{base}store/carts", json={"region_id": storefront["region_id"]}, headers=headers)
    if cart.status_code != 200:
        return f"creating a cart answered {cart.status_code}"
    cart_id = cart.json()["cart"]["id"]
    variant = products[0]["variants"][0]["id"]
    added = client.post(
        f"{base}store/carts/{cart_id}/line-items",
        json={"variant_id": variant, "quantity": 1},
        headers=headers,
    )
    if added.status_code != 200 or not added.json()["cart"].get("items"):
        return f"adding the sample product to a cart answered {added.status_code}"
    return None


STEPS: dict[str, Callable[[httpx.Client, str], str | None]] = {"woocommerce": _step, "medusa": _medusa_step}
"""Each engine's check."""


CHECKED = {
    "woocommerce": "checking the storefront: home page, Store API, cart",
    "medusa": "checking the storefront: publishable key, Store API, cart",
}
"""The progress line of each engine's check."""


def wants_check(spec: StoreSpec, env: Environment) -> bool:
    """Whether ``env`` asks for a storefront check of ``spec``'s engine."""
    if spec.engine == "medusa":
        return env.medusa is not None and env.medusa.storefront_check
    return env.readiness.http_check


def check_store(spec: StoreSpec, env: Environment, info: StoreInfo) -> None:
    """The storefront check of a store that is up, where ``readiness.check_through`` says: its public
    URL (through ``readiness.ingress_address`` when set), or its web Service."""
    host = None
    base = info.url
    readiness = env.readiness
    if readiness.check_through == "service":
        if not info.web_address:
            raise OperationFailedError(
                f"store '{spec.name}' has no web Service address to check",
                temporary=True,
                reason="storefront_unavailable",
            )
        host, base = env.host(spec.name), f"http://{info.web_address}/"
    elif readiness.ingress_address is not None:
        host, base = env.host(spec.name), f"{env.scheme}://{readiness.ingress_address}/"
    check_storefront(base, timeout=readiness.timeout_seconds, engine=spec.engine, host=host)


def _name_the_server(host: str) -> Callable[[httpx.Request], None]:
    """A request hook: TLS to ``host`` (SNI and the certificate's name), whatever address the URL has."""

    def hook(request: httpx.Request) -> None:
        request.extensions["sni_hostname"] = host

    return hook


def check_storefront(
    url: str, *, timeout: float, interval: float = 3.0, engine: str = "woocommerce", host: str | None = None
) -> None:
    """Wait until the store at ``url`` (ending in '/') serves its shop, or raise. ``host``: the store's
    host name when ``url`` names an address instead (a Service, or the ingress controller's): sent as
    the Host header and, over TLS, as the server name."""
    base = url if url.endswith("/") else f"{url}/"
    step = STEPS[engine]
    deadline = time.monotonic() + timeout
    reason = "not tried"
    headers = {"Host": host} if host else None
    hooks = {"request": [_name_the_server(host)]} if host and base.startswith("https:") else None
    with httpx.Client(
        timeout=10, follow_redirects=False, verify=True, headers=headers, event_hooks=hooks
    ) as client:
        while True:
            try:
                failure = step(client, base)
            except (httpx.HTTPError, ValueError, KeyError, TypeError, IndexError) as exc:
                failure = f"{type(exc).__name__}: {exc}"
            if failure is None:
                return
            reason = failure
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
    raise OperationFailedError(
        f"storefront check of {base} failed after {timeout:.0f}s: {reason}",
        temporary=True,
        reason="storefront_unavailable",
    )
