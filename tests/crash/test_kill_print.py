"""kill -9 during ``lifeline print kits --all``: no PDF at its final name, no kit marked printed,
no access code stored; the next run says so, removes the partial file and prints everything."""

from __future__ import annotations

import signal

import pypdfium2 as pdfium

from tests.crash.conftest import kill_when, wait_until

HOUSEHOLDS = 1000


def test_kill_9_during_batch_printing_marks_nothing_and_the_rerun_prints_all(instance, tmp_path):
    seeded = instance.python("-m", "tests.crash.seed", str(HOUSEHOLDS))
    assert seeded.returncode == 0, seeded.stderr
    out = tmp_path / "kits.pdf"
    part = tmp_path / "kits.pdf.part"

    proc = instance.start("print", "kits", "--all", "--out", str(out))
    kill_when(proc, lambda: part.exists() and part.stat().st_size > 500_000, "pages streaming into kits.pdf.part")
    assert not out.exists()
    assert instance.scalar("SELECT count(*) FROM household WHERE kit_printed_at IS NOT NULL") == 0
    assert instance.scalar("SELECT count(*) FROM residentaccesscode") == 0
    assert instance.scalar("SELECT count(*) FROM card WHERE printed_at IS NOT NULL") == 0
    killed_at = instance.scalar("SELECT max(seq) FROM auditevent")
    assert killed_at > 0  # it had printed (and recorded) people before it was killed
    verify = instance.run("audit", "verify")
    assert verify.returncode == 0 and "OK:" in verify.stdout, verify.stdout + verify.stderr

    again = instance.run("print", "kits", "--all", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "note: an earlier print to kits.pdf did not finish" in again.stderr
    assert f"wrote {out}: {HOUSEHOLDS} households" in again.stdout
    assert not part.exists()
    pdf = pdfium.PdfDocument(out)
    assert len(pdf) == int(again.stdout.split(" pages")[0].rsplit(" ", 1)[1])
    pdf.close()
    assert instance.scalar("SELECT count(*) FROM household WHERE kit_printed_at IS NULL") == 0
    assert instance.scalar("SELECT count(*) FROM residentaccesscode WHERE revoked_at IS NULL") == HOUSEHOLDS
    # Cards issued by the killed run were reused, not issued twice.
    assert instance.scalar("SELECT count(*) FROM card") == HOUSEHOLDS
    assert instance.run("audit", "verify").returncode == 0


def test_a_second_print_to_the_same_file_is_refused_while_the_first_runs(instance, tmp_path):
    seeded = instance.python("-m", "tests.crash.seed", "300")
    assert seeded.returncode == 0, seeded.stderr
    out, part = tmp_path / "cards.pdf", tmp_path / "cards.pdf.part"
    first = instance.start("print", "cards", "--all", "--out", str(out))
    try:
        wait_until(first, lambda: part.exists() and part.stat().st_size > 50_000, "cards streaming into cards.pdf.part")
        first.send_signal(signal.SIGSTOP)  # paused mid-way, still holding its file, however fast the machine
        try:
            second = instance.run("print", "cards", "--all", "--out", str(out))
        finally:
            first.send_signal(signal.SIGCONT)
        assert second.returncode == 1 and "同じファイルへの印刷が実行中です" in second.stderr
        assert "did not finish" not in second.stderr  # a file being written is not taken for an interrupted one
        assert first.wait(timeout=180) == 0, first.log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert out.exists() and not part.exists()
    assert instance.scalar("SELECT count(*) FROM card WHERE printed_at IS NOT NULL") == 300
