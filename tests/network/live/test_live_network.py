"""Against the real service: a standard FHIR client library, and the hospital dashboard in Chromium."""

from __future__ import annotations

import json

import requests
from playwright.sync_api import Page, expect


def test_fhirclient_reads_a_patient_and_its_summary(live_server, setup):
    """fhirclient finds the token URL in the CapabilityStatement and does the client-credentials grant itself."""
    from fhirclient import client
    from fhirclient.models.bundle import Bundle
    from fhirclient.models.patient import Patient

    made = json.loads(live_server.cli("network", "add-client", "--institution", "済生会加須病院", "--json").stdout)
    smart = client.FHIRClient(
        settings={
            "app_id": made["client_id"],
            "app_secret": made["client_secret"],
            "api_base": f"{live_server.url}/fhir/r4/",
            "scope": "system/*.read",
        }
    )
    smart.prepare()  # reads /metadata and the SMART oauth-uris extension
    assert smart.server.auth._token_uri == f"{live_server.url}/fhir/r4/auth/token"
    smart.server.authorize()  # client_credentials with HTTP Basic
    patient = Patient.read(str(setup["person_id"]), smart.server)
    assert patient.name[0].text == setup["person_name"]
    assert {n.extension[0].valueCode for n in patient.name} == {"IDE", "SYL"}
    summary = Bundle(smart.server.request_json(f"Patient/{setup['person_id']}/$summary"))
    assert summary.type == "document"
    codes = {s.code.coding[0].code for s in summary.entry[0].resource.section}
    assert codes == {"48765-2", "10160-0", "11450-4"}


def _crew(live_server, setup) -> dict[str, str]:
    enrolled = requests.post(f"{live_server.url}/api/v1/devices/enroll", json={"code": setup["code"]}, timeout=10)
    assert enrolled.status_code == 201, enrolled.text
    device = enrolled.json()["device_token"]
    username, password = live_server.login("paramedic")
    signed = requests.post(
        f"{live_server.url}/api/v1/auth/token",
        data={"username": username, "password": password},
        headers={"X-Lifeline-Device": device},
        timeout=10,
    )
    assert signed.status_code == 200, signed.text
    return {"Authorization": f"Bearer {signed.json()['access_token']}", "X-Lifeline-Device": device}


def test_handoff_appears_on_the_hospital_dashboard(page: Page, live_server, setup):
    page.goto("/login")
    page.get_by_label("ユーザー名").fill(setup["username"])
    page.get_by_label("パスワード").fill(setup["password"])
    page.get_by_role("button", name="ログイン").click()
    live_server.second_step(page, setup["username"])  # a new ER doctor sets up the authenticator first
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto("/hospital/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("済生会加須病院")

    crew = _crew(live_server, setup)
    scan = requests.post(
        f"{live_server.url}/api/v1/scans", json={"qr": setup["qr"], "incident": "R8-777"}, headers=crew, timeout=10
    ).json()
    chosen = requests.post(
        f"{live_server.url}/api/v1/scans/{scan['audit_id']}/destination",
        json={"institution_id": setup["hospital_id"]},
        headers=crew,
        timeout=10,
    )
    assert chosen.status_code == 201, chosen.text

    card = page.locator(f"#handoff-{scan['audit_id']}")
    expect(card).to_be_visible(timeout=12_000)  # the page polls every 5 s
    expect(card).to_contain_text(setup["person_name"])
    expect(card).to_contain_text("R8-777")
    expect(card).to_contain_text("ワルファリン")
    card.get_by_role("button", name="受け入れを確認").click()
    expect(page.locator(f"#handoff-{scan['audit_id']} .acknowledged")).to_be_visible()
    state = requests.get(
        f"{live_server.url}/api/v1/scans/{scan['audit_id']}/destination", headers=crew, timeout=10
    ).json()
    assert state["acknowledged_at"] and state["acknowledged_by"] == "救急外来 見本"
