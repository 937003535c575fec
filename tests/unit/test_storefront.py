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

from stacks.errors import OperationFailedError
from stacks.storefront import check_storefront


class Shop:
    def __init__(self) -> None:
        self.products = [{"id": 7, "slug": "sample-product"}]
        self.api_status = 200
        self.carts: dict[str, int] = {}
        self.payment_methods = ["cod"]


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

        def do_GET(self) -> None:
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
