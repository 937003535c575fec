"""The storefront check that makes ``ready`` mean "a customer can shop" where a cluster serves HTTP.

Called by ``Fleet.up`` after Pulumi's awaits when the environment enables ``readiness.http_check``
(local and prod; the simulated cluster runs no containers). Through the store's public URL it
GETs the home page (2xx/3xx), finds the sample product through the WooCommerce Store API, and puts
it in a cart (``Cart-Token`` session) whose checkout offers cash on delivery (the payment method the
setup job enables): no order is placed. Retries until the timeout, then raises a
temporary ``OperationFailedError`` naming the step that failed.
"""

from __future__ import annotations

import time

import httpx

from stacks.errors import OperationFailedError

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


def check_storefront(url: str, *, timeout: float, interval: float = 3.0) -> None:
    """Wait until the store at ``url`` (ending in '/') serves its shop, or raise."""
    base = url if url.endswith("/") else f"{url}/"
    deadline = time.monotonic() + timeout
    reason = "not tried"
    with httpx.Client(timeout=10, follow_redirects=False, verify=True) as client:
        while True:
            try:
                failure = _step(client, base)
            except (httpx.HTTPError, ValueError) as exc:
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
