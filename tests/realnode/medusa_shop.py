"""A customer and an admin of a Medusa store, over HTTP through the ingress controller (Traefik at the
node's address) by the store's host name, as a customer's browser would reach it.

Used by ``tests/realnode/test_medusa.py``. The customer does what a storefront does with Medusa's
Store API: finds the publishable key (the image's ``/storestack/storefront``), creates a cart, adds
the sample product, sets the address, picks the shipping option, pays with the system provider and
completes the cart; the admin signs in (``/auth/user/emailpass``) and reads the Admin API.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.realnode.probe import through_ingress


class MedusaShop:
    """HTTP to a Medusa store through the ingress, with the store's host name."""

    def __init__(self, host: str) -> None:
        self.client = through_ingress(host)
        self.timings: dict[str, float] = {}
        self._store_headers: dict[str, str] = {}

    def close(self) -> None:
        self.client.close()

    def wait_healthy(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the Medusa server never answered /health")
            time.sleep(1)

    def _call(self, step: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        start = time.monotonic()
        response = self.client.request(method, path, **kwargs)
        self.timings[step] = round((time.monotonic() - start) * 1000)
        assert response.status_code == 200, (
            f"{step}: {method} {path} -> {response.status_code} {response.text[:500]}"
        )
        body: dict[str, Any] = response.json()
        return body

    def _store(self, step: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._call(step, method, path, headers=self._store_headers, **kwargs)

    def storefront(self) -> dict[str, Any]:
        found = self._call("storefront", "GET", "/storestack/storefront")
        self._store_headers = {"x-publishable-api-key": found["publishable_key"]}
        return found

    def place_order(self, *, email: str, country: str) -> dict[str, Any]:
        """Everything a customer does, from an empty cart to an order; returns the order."""
        shop = self.storefront()
        listed = self._store("list products", "GET", "/store/products", params={"handle": "sample-product"})
        (product,) = listed["products"]
        variant = product["variants"][0]["id"]
        cart = self._store("create cart", "POST", "/store/carts", json={"region_id": shop["region_id"]})[
            "cart"
        ]
        cart_path = f"/store/carts/{cart['id']}"
        cart = self._store(
            "add item", "POST", f"{cart_path}/line-items", json={"variant_id": variant, "quantity": 2}
        )["cart"]
        assert [item["quantity"] for item in cart["items"]] == [2]
        address = {
            "first_name": "Real",
            "last_name": "Customer",
            "address_1": "1 Example Street",
            "city": "San Francisco",
            "postal_code": "94103",
            "country_code": country.lower(),
        }
        self._store(
            "set address",
            "POST",
            cart_path,
            json={"email": email, "shipping_address": address, "billing_address": address},
        )
        options = self._store(
            "shipping options", "GET", "/store/shipping-options", params={"cart_id": cart["id"]}
        )
        option = options["shipping_options"][0]["id"]
        self._store("choose shipping", "POST", f"{cart_path}/shipping-methods", json={"option_id": option})
        collection = self._store(
            "payment collection", "POST", "/store/payment-collections", json={"cart_id": cart["id"]}
        )["payment_collection"]
        self._store(
            "payment session",
            "POST",
            f"/store/payment-collections/{collection['id']}/payment-sessions",
            json={"provider_id": "pp_system_default"},
        )
        done = self._store("complete", "POST", f"{cart_path}/complete")
        assert done["type"] == "order", done
        order: dict[str, Any] = done["order"]
        return order

    def _admin(self, email: str, password: str) -> dict[str, str]:
        token = self._call(
            "admin sign-in", "POST", "/auth/user/emailpass", json={"email": email, "password": password}
        )
        return {"Authorization": f"Bearer {token['token']}"}

    def upload(self, email: str, password: str, name: str, content: bytes) -> str:
        """Upload a file as the admin does for a product image; returns the path it is served at."""
        headers = self._admin(email, password)
        files = {"files": (name, content, "image/png")}
        uploaded = self._call("admin upload", "POST", "/admin/uploads", files=files, headers=headers)
        url: str = uploaded["files"][0]["url"]
        return "/" + url.split("://", 1)[1].split("/", 1)[1]

    def admin_orders(self, email: str, password: str) -> list[dict[str, Any]]:
        """The orders the Admin API lists to the store's admin."""
        headers = self._admin(email, password)
        listed = self._call(
            "admin orders",
            "GET",
            "/admin/orders",
            params={"fields": "id,display_id,email,total"},
            headers=headers,
        )
        orders: list[dict[str, Any]] = listed["orders"]
        return orders

    def admin_dashboard(self) -> httpx.Response:
        return self.client.get("/app", follow_redirects=True)
