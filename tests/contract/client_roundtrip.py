"""Drive a live Storestack server through a client generated from its own /openapi.json.

Run by ``tests/contract/test_contract.py`` in the generator's environment (``clients/python``),
with the generated package ``storestack_client`` on ``PYTHONPATH``; argv: base URL, admin token.
Unexpected status codes raise (the client is built with ``raise_on_unexpected_status``), so an
answer the document does not list fails the test. Prints one JSON object of what it saw.
"""

from __future__ import annotations

import json
import sys

from storestack_client import AuthenticatedClient  # type: ignore[import-not-found]
from storestack_client.api.stores import (  # type: ignore[import-not-found]
    create_store,
    delete_store,
    get_store,
    get_store_credentials,
    list_stores,
)
from storestack_client.api.tokens import (  # type: ignore[import-not-found]
    create_token,
    list_tokens,
    revoke_token,
    whoami,
)
from storestack_client.models import (  # type: ignore[import-not-found]
    CreateStoreRequest,
    CreateStoreRequestEngine,
    ErrorResponse,
    Status,
    StoreOut,
    TokenCreateRequest,
)


def main() -> None:
    url, token = sys.argv[1], sys.argv[2]
    client = AuthenticatedClient(base_url=url, token=token, raise_on_unexpected_status=True)
    seen: dict[str, object] = {}
    me = whoami.sync(client=client)
    seen["whoami"] = [me.owner, me.role.value]
    body = CreateStoreRequest(name="client-shop", engine=CreateStoreRequestEngine.WOOCOMMERCE, title="Typed")
    created = create_store.sync_detailed(client=client, body=body, idempotency_key="client-1")
    assert isinstance(created.parsed, StoreOut), created
    seen["created"] = [int(created.status_code), created.parsed.name, created.parsed.status.value]
    replay = create_store.sync_detailed(client=client, body=body, idempotency_key="client-1")
    seen["replayed"] = replay.headers.get("idempotent-replayed")
    again = create_store.sync(client=client, body=body)
    assert isinstance(again, ErrorResponse), again
    seen["again"] = again.error.code
    store = get_store.sync("client-shop", client=client)
    assert isinstance(store, StoreOut), store
    seen["get"] = [store.name, store.title, store.engine]
    page = list_stores.sync(client=client, status=Status.PENDING)
    seen["listed"] = [s.name for s in page.items]
    missing = get_store.sync("no-such-store", client=client)
    assert isinstance(missing, ErrorResponse), missing
    seen["missing"] = missing.error.code
    invalid = get_store.sync("Not-A-Name", client=client)
    assert isinstance(invalid, ErrorResponse), invalid
    seen["invalid"] = invalid.error.code
    credentials = get_store_credentials.sync("client-shop", client=client)
    assert isinstance(credentials, ErrorResponse), credentials
    seen["credentials"] = credentials.error.code
    deleted = delete_store.sync("client-shop", client=client)
    assert isinstance(deleted, StoreOut), deleted
    seen["deleted"] = [deleted.status.value, deleted.desired.value]
    made = create_token.sync(client=client, body=TokenCreateRequest(owner="typed", expires_in_seconds=3600))
    owner = AuthenticatedClient(base_url=url, token=made.token, raise_on_unexpected_status=True)
    seen["owner_sees"] = [t.owner for t in list_tokens.sync(client=owner)]
    seen["revoked"] = revoke_token.sync(made.id, client=owner).active
    after = whoami.sync(client=owner)
    assert isinstance(after, ErrorResponse), after
    seen["after_revoke"] = after.error.code
    anonymous = AuthenticatedClient(base_url=url, token="sst_not-a-token", raise_on_unexpected_status=True)
    refused = whoami.sync(client=anonymous)
    assert isinstance(refused, ErrorResponse), refused
    seen["refused"] = refused.error.code
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
