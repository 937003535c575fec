"""The storefront check against a real HTTP server on loopback that imitates WooCommerce's Store API
(home page, products by slug, cart with Cart-Token, add-item, payment methods): it passes when a
cart can be filled with cash on delivery offered, and fails, naming the step, when the plugin, the
sample product or the payment method is missing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

import environments
from stacks.errors import OperationFailedError
from stacks.storefront import check_store, check_storefront
from stacks.types import StoreInfo, StoreSpec


class Shop:
    def __init__(self) -> None:
        self.products = [{"id": 7, "slug": "sample-product"}]
        self.api_status = 200
        self.carts: dict[str, int] = {}
        self.payment_methods = ["cod"]
        self.host: str | None = None  # when set, any other Host header gets 404 (as an ingress does)
        self.hosts_seen: set[str] = set()


def _handler(shop: Shop) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def _json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _wrong_host(self) -> bool:
            shop.hosts_seen.add(self.headers.get("Host", ""))
            if shop.host is not None and self.headers.get("Host") != shop.host:
                self._json(404, {"error": "no router for this host"})
                return True
            return False

        def do_GET(self) -> None:
            if self._wrong_host():
                return
            url = urlparse(self.path)
            if url.path == "/":
                self._json(200, {"page": "home"})
            elif url.path == "/wp-json/wc/store/v1/products":
                slug = parse_qs(url.query).get("slug", [""])[0]
                self._json(shop.api_status, [p for p in shop.products if p["slug"] == slug])
            elif url.path == "/wp-json/wc/store/v1/cart":
                token = f"t{len(shop.carts)}"
                shop.carts[token] = 0
                self._json(200, {"items_count": 0}, {"Cart-Token": token})
            else:
                self._json(404, {})

        def do_POST(self) -> None:
            if self._wrong_host():
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            token = self.headers.get("Cart-Token", "")
            if self.path != "/wp-json/wc/store/v1/cart/add-item" or token not in shop.carts:
                self._json(401, {"code": "woocommerce_rest_missing_nonce"})
                return
            if body["id"] not in {p["id"] for p in shop.products}:
                self._json(400, {})
                return
            shop.carts[token] += body["quantity"]
            self._json(201, {"items_count": shop.carts[token], "payment_methods": shop.payment_methods})

    return Handler


@pytest.fixture
def shop() -> Iterator[tuple[Shop, str]]:
    state = Shop()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_passes_when_a_cart_can_be_filled(shop: tuple[Shop, str]) -> None:
    state, url = shop
    check_storefront(url, timeout=5, interval=0.1)
    assert list(state.carts.values()) == [1]


def test_fails_naming_the_missing_sample_product(shop: tuple[Shop, str]) -> None:
    state, url = shop
    state.products = []
    with pytest.raises(OperationFailedError, match="sample product 'sample-product' is missing") as info:
        check_storefront(url, timeout=0.3, interval=0.1)
    assert info.value.temporary and info.value.code == "storefront_unavailable"


def test_fails_when_checkout_offers_no_cash_on_delivery(shop: tuple[Shop, str]) -> None:
    state, url = shop
    state.payment_methods = []
    with pytest.raises(
        OperationFailedError, match=r"the cart offers no cash-on-delivery payment \(payment methods: \[\]\)"
    ):
        check_storefront(url, timeout=0.3, interval=0.1)


def test_fails_when_the_store_api_is_down(shop: tuple[Shop, str]) -> None:
    state, url = shop
    state.api_status = 404
    with pytest.raises(OperationFailedError, match="Store API answered 404"):
        check_storefront(url, timeout=0.3, interval=0.1)


def test_fails_when_nothing_listens() -> None:
    with pytest.raises(OperationFailedError, match="ConnectError"):
        check_storefront("http://127.0.0.1:9/", timeout=0.2, interval=0.1)


def test_through_an_ingress_address_the_store_host_name_is_sent(shop: tuple[Shop, str]) -> None:
    """``readiness.ingress_address``: connect there, as curl --resolve would, with the store's name."""
    state, url = shop
    state.host = "shop1.realnode.storestack.test"
    address = url.removeprefix("http://").rstrip("/")
    env = environments.load("realnode")
    env = env.model_copy(update={"readiness": env.readiness.model_copy(update={"ingress_address": address})})
    info = StoreInfo(
        name="shop1",
        namespace="store-shop1",
        url="http://shop1.realnode.storestack.test/",  # no DNS record: only the mapping reaches it
        admin_url="http://shop1.realnode.storestack.test/wp-admin/",
        admin_user="admin",
    )
    check_store(StoreSpec(name="shop1"), env, info)
    assert list(state.carts.values()) == [1]
    assert state.hosts_seen == {"shop1.realnode.storestack.test"}


def test_a_wrong_host_name_at_the_ingress_fails_the_check(shop: tuple[Shop, str]) -> None:
    state, url = shop
    state.host = "other.realnode.storestack.test"
    with pytest.raises(OperationFailedError, match="answered 404"):
        check_storefront(url, timeout=0.3, interval=0.1, host="shop1.realnode.storestack.test")
