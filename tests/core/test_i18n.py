"""Every Japanese UI message has an English translation, and English mode really is English."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_message_has_english():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "i18n_catalog.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        "untranslated messages (run scripts/i18n_catalog.py and fill app/locale/en.po):\n" + result.stdout
    )


def test_english_mode_translates_pages_and_errors(login, personas):
    c = login(personas.staff)
    c.get("/lang/en")
    page = c.get(f"/staff/persons/{personas.patient.id}").text
    assert "Edit" in page and "基本情報を編集" not in page
    r = c.post("/staff/households", data={"address_line": "", "postal_code": "12"})
    assert r.status_code == 422 and "郵便番号は7桁" not in r.text
