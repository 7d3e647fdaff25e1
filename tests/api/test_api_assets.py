"""The inventory through the API: reads, admin writes (audited), all-or-nothing imports."""

from __future__ import annotations

from tests.api.harness import Api

CSV_OK = (
    "name,hostname,ip_address,os_type,device_type,environment,tags\n"
    "csv-01,csv-01.example,10.9.0.1,linux,server,lab,web;edge\n"
    "csv-02,csv-02.example,10.9.0.2,windows,workstation,office,\n"
)
CSV_BAD = (
    "name,hostname,ip_address,os_type,device_type\n"
    "csv-03,csv-03.example,10.9.0.3,linux,server\n"
    "csv-04,csv-04.example,not-an-ip,linux,server\n"
)


async def test_list_filters_and_pages(api: Api) -> None:
    viewer = api.headers("viewer")
    page = (await api.client.get("/assets", params={"limit": 2}, headers=viewer)).json()
    assert page["count"] == 7 and len(page["data"]) == 2
    rest = (await api.client.get("/assets", params={"offset": 2}, headers=viewer)).json()
    assert len(rest["data"]) == 5
    names = [a["name"] for a in page["data"] + rest["data"]]
    assert names == sorted(names)
    prod = await api.client.get(
        "/assets", params={"environment": "production", "tag": "web"}, headers=viewer
    )
    assert [a["name"] for a in prod.json()["data"]] == ["web-prod-01", "web-prod-02"]
    one = (await api.client.get("/assets/web-prod-01", headers=viewer)).json()
    assert one["owner"] == "Web Team" and one["connection"]["protocol"] == "ssh"


async def test_admin_creates_updates_and_deletes(api: Api) -> None:
    admin = api.headers("admin")
    body = {"name": "lab-01", "os_type": "linux", "device_type": "server", "environment": "Lab"}
    created = await api.client.post("/assets", json=body, headers=admin)
    assert created.status_code == 201 and created.json()["environment"] == "lab"
    again = await api.client.post("/assets", json=body, headers=admin)
    assert again.status_code == 409 and "already exists" in again.json()["detail"]

    patched = await api.client.patch(
        "/assets/lab-01", json={"owner": "Lab Team", "tags": ["x"]}, headers=admin
    )
    assert patched.status_code == 200
    assert patched.json()["owner"] == "Lab Team" and patched.json()["os_type"] == "linux"
    bad = await api.client.patch("/assets/lab-01", json={"os_type": None}, headers=admin)
    assert bad.status_code == 422 and "os_type" in bad.json()["detail"]

    deleted = await api.client.delete("/assets/lab-01", headers=admin)
    assert deleted.status_code == 204
    gone = await api.client.get("/assets/lab-01", headers=admin)
    assert gone.status_code == 404 and "lab-01" in gone.json()["detail"]
    actions = [(r.actor, r.action) for r in await api.audit(entity_type="asset")]
    assert actions == [("root", "created"), ("root", "updated"), ("root", "deleted")]


async def test_import_csv_is_all_or_nothing(api: Api) -> None:
    admin = api.headers("admin")
    bad = await api.client.post(
        "/assets/import", params={"format": "csv"}, content=CSV_BAD, headers=admin
    )
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert "row 2 (csv-04)" in detail and "ip_address" in detail
    missing = await api.client.get("/assets/csv-03", headers=admin)
    assert missing.status_code == 404  # the good row before the bad one was not kept

    ok = await api.client.post(
        "/assets/import", params={"format": "csv"}, content=CSV_OK, headers=admin
    )
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"created": ["csv-01", "csv-02"], "updated": [], "unchanged": []}
    tags = (await api.client.get("/assets/csv-01", headers=admin)).json()["tags"]
    assert tags == ["web", "edge"]


async def test_import_yaml_names_row_and_field(api: Api) -> None:
    admin = api.headers("admin")
    text = (
        "assets:\n"
        "  - {name: y-01, os_type: linux, device_type: server}\n"
        "  - {name: y-02, os_type: plan9, device_type: server}\n"
    )
    bad = await api.client.post(
        "/assets/import", params={"format": "yaml"}, content=text, headers=admin
    )
    assert bad.status_code == 422
    assert "row 2 (y-02)" in bad.json()["detail"] and "os_type" in bad.json()["detail"]
    wrong_format = await api.client.post(
        "/assets/import", params={"format": "xml"}, content=text, headers=admin
    )
    assert wrong_format.status_code == 422 and "format" in wrong_format.json()["detail"]
