"""``GET /api/v1/stores`` pages: ``limit``/``offset`` pick the page, ``count`` is the total."""

from __future__ import annotations

from tests.api.conftest import Harness


def test_pages_cover_every_store_once_and_count_is_the_total(harness: Harness) -> None:
    names = [f"page-{i:02d}" for i in range(7)]
    for name in names:
        assert harness.create(name, headers=harness.admin).status_code == 202
    seen: list[str] = []
    for offset in (0, 3, 6):
        body = harness.client.get(
            "/api/v1/stores", params={"limit": 3, "offset": offset}, headers=harness.admin
        ).json()
        assert body["count"] == 7
        assert (body["limit"], body["offset"]) == (3, offset)
        seen += [s["name"] for s in body["items"]]
    assert seen == names
    assert harness.client.get("/api/v1/stores", headers=harness.admin).json()["limit"] == 500


def test_bad_page_parameters_are_422(harness: Harness) -> None:
    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}):
        response = harness.client.get("/api/v1/stores", params=params, headers=harness.admin)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == "validation_error"


def test_integers_beyond_the_database_are_422_not_500(harness: Harness) -> None:
    # Found by a fuzzer: an offset or event id past 64 bits reached the database (OverflowError, 500).
    huge = str(10**30)
    assert harness.create("bounds", headers=harness.admin).status_code == 202
    for path, params in (
        ("/api/v1/stores", {"offset": huge}),
        ("/api/v1/stores", {"offset": 2**31}),
        ("/api/v1/stores/bounds/events", {"after": huge}),
        ("/api/v1/stores/bounds/events", {"after": 2**31}),
    ):
        response = harness.client.get(path, params=params, headers=harness.admin)
        assert response.status_code == 422, (path, params, response.text)
        body = response.json()["error"]
        assert body["code"] == "validation_error" and next(iter(params)) in body["message"]
    last = harness.client.get("/api/v1/stores", params={"offset": 2**31 - 1}, headers=harness.admin)
    assert last.status_code == 200 and last.json()["items"] == []
