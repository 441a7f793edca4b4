"""``lifeline print`` on a fresh SQLite data directory with the demo data, as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.core.config import ROOT_DIR
from tests.printing.conftest import decode, flat, page_size_mm, raster, text_of


@pytest.fixture(scope="module")
def lifeline(tmp_path_factory):
    data = tmp_path_factory.mktemp("print-cli")
    env = {
        **os.environ,
        "LIFELINE_DATA_DIR": str(data),
        "LIFELINE_DATABASE_URL": "",
        "LIFELINE_ENVIRONMENT": "development",
        "LIFELINE_PUBLIC_URL": "https://ll.city.kazo.lg.jp",
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=ROOT_DIR, env=env, capture_output=True, text=True, timeout=300
        )

    assert run("demo").returncode == 0
    run.data = data
    return run


def test_print_kits_all_writes_every_demo_kit(lifeline):
    out = lifeline.data / "kits.pdf"
    result = lifeline("print", "kits", "--all", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "4 households" in result.stdout and "6 persons" in result.stdout
    pdf = out.read_bytes()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    texts = [flat(t) for t in text_of(pdf)]
    everything = "".join(texts)
    for expected in (
        "見本 太郎",
        "ミホン タロウ",
        "ワルファリン錠1mg 1日1回",
        "0480-00-1001",
        "吉野 試子",
        "ヨシノ ミコ（姪）",
        "髙橋 架空",
    ):
        assert expected in everything, expected
    assert "𠮷" not in everything
    qr = decode(raster(pdf, 1, 150, blur=0.8))
    assert len(qr) == 1 and qr[0].text.startswith("HTTPS://LL.CITY.KAZO.LG.JP/C/") and qr[0].extra["Version"] == "7"
    # Kits are marked printed: the pending batch now has nothing to print.
    again = lifeline("print", "kits", "--pending", "--out", str(lifeline.data / "none.pdf"))
    assert again.returncode == 1 and "印刷" in again.stderr and not (lifeline.data / "none.pdf").exists()


def test_print_cards_and_sheets(lifeline):
    cards = lifeline.data / "cards.pdf"
    result = lifeline("print", "cards", "--all", "--layout", "a4", "--out", str(cards))
    assert result.returncode == 0, result.stderr
    pdf = cards.read_bytes()
    assert page_size_mm(pdf, 0) == pytest.approx((210, 297), abs=0.01)
    assert len(decode(raster(pdf, 0, 300))) == 6
    single = lifeline.data / "card.pdf"
    assert lifeline("print", "cards", "--household", "1", "--out", str(single)).returncode == 0
    assert page_size_mm(single.read_bytes(), 0) == pytest.approx((85.6, 54), abs=0.01)
    sheets = lifeline.data / "sheets.pdf"
    assert lifeline("print", "sheets", "--household", "1", "--out", str(sheets)).returncode == 0
    assert "見本 梅子" in flat(text_of(sheets.read_bytes())[1])


def test_print_needs_exactly_one_selection_and_explains_itself(lifeline):
    out = str(lifeline.data / "x.pdf")
    assert lifeline("print", "kits", "--out", out).returncode == 2
    assert lifeline("print", "kits", "--all", "--household", "1", "--out", out).returncode == 2
    missing = lifeline("print", "sheets", "--household", "999", "--out", out)
    assert missing.returncode == 1 and "世帯が見つかりません" in missing.stderr
    for command in ("kits", "cards", "sheets"):
        shown = lifeline("print", command, "--help")
        assert shown.returncode == 0 and "--out" in shown.stdout and "--household" in shown.stdout
