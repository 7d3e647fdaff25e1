"""Location and declared services through the API: written, shown, filtered."""

from __future__ import annotations

from tests.api.harness import Api

CSV_SITES = (
    "name,os_type,device_type,data_center,services\n"
    'dr-web-01,linux,server,DR,"nginx,billing-api"\n'
    "dr-sw-01,network,switch,DR,\n"
    "east-web-01,linux,server,dc-east,nginx\n"
)


async def test_location_and_services_are_imported_shown_and_filtered(api: Api) -> None:
    admin, viewer = api.headers("admin"), api.headers("viewer")
    imported = await api.client.post(
        "/assets/import", params={"format": "csv"}, content=CSV_SITES, headers=admin
    )
    assert imported.status_code == 200, imported.text
    shown = (await api.client.get("/assets/dr-web-01", headers=viewer)).json()
    assert shown["location"] == "DR" and shown["services"] == ["nginx", "billing-api"]

    async def names(**params: str) -> list[str]:
        found = await api.client.get("/assets", params=params, headers=viewer)
        assert found.status_code == 200, found.text
        return [a["name"] for a in found.json()["data"]]

    assert await names(location="dr") == ["dr-sw-01", "dr-web-01"]
    assert await names(service="NGINX") == ["dr-web-01", "east-web-01"]
    assert await names(service="nginx", location="dc-east") == ["east-web-01"]

    patched = await api.client.patch(
        "/assets/web-prod-01", json={"location": "dr", "services": ["nginx"]}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert await names(service="nginx", location="DR") == ["dr-web-01", "web-prod-01"]


async def test_a_bad_service_is_a_422_naming_it(api: Api) -> None:
    viewer, admin = api.headers("viewer"), api.headers("admin")
    listed = await api.client.get("/assets", params={"service": 'x" OR 1'}, headers=viewer)
    assert listed.status_code == 422 and "service" in listed.json()["detail"]
    patched = await api.client.patch(
        "/assets/web-prod-01", json={"services": ["nginx", "a b"]}, headers=admin
    )
    assert patched.status_code == 422 and "services" in patched.json()["detail"]
