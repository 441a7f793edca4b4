"""The staff upload page: multipart with CSRF, background run, progress partial, escaped problems."""

from __future__ import annotations

import io
import socket
import stat
import subprocess

import pytest
from sqlmodel import select

from app.core.config import get_settings
from app.imports import service
from app.imports.models import ImportJob, ImportStatus
from app.persons.models import Person
from tests.imports.conftest import HEADER, IMPORT_ACTOR, row, to_csv

SCRIPT = "<script>alert(1)</script>"


def _upload(client, data: bytes, *, dry_run: bool, filename: str = "registry.csv"):
    token = client.cookies.get("csrftoken", "")
    fields = {"csrftoken": token} | ({"dry_run": "1"} if dry_run else {})
    # No CSRF header here: the middleware must find the token as the first multipart field.
    return client.post(
        "/staff/import",
        data=fields,
        files={"file": (filename, data, "text/csv")},
        headers={"x-csrftoken": ""},
        follow_redirects=False,
    )


def test_upload_page_has_the_token_before_the_file_field(login, personas):
    page = login(personas.staff).get("/staff/import")
    assert page.status_code == 200
    html = page.text
    assert 'enctype="multipart/form-data"' in html
    assert html.index('name="csrftoken"', html.index('action="/staff/import"')) < html.index('type="file"')
    assert 'name="dry_run" value="1" checked' in html


def test_dry_run_then_real_import_through_the_ui(login, personas, db, table_counts):
    c = login(personas.staff)
    data = to_csv([row(family="髙橋"), row(person="7000002", given="花子")], encoding="cp932")
    before = table_counts()
    r = _upload(c, data, dry_run=True)
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"])
    assert page.status_code == 200 and "完了" in page.text and "新しく登録される人" in page.text
    assert 'hx-trigger="every 1s"' not in page.text  # finished: the partial stops polling
    assert table_counts() == before

    r = _upload(c, data, dry_run=False)
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    job = db.get(ImportJob, job_id)
    db.refresh(job)
    assert (job.status, job.created, job.created_by_id, job.created_by_name) == (
        ImportStatus.done,
        2,
        personas.staff.id,
        personas.staff.display_name,
    )
    assert db.exec(select(Person).where(Person.external_ref == "7000001")).one().family_name == "髙橋"
    assert not service.upload_path(job_id=job_id).exists()  # deleted once the run ended
    partial = c.get(f"/staff/import/{job_id}/progress", headers={"hx-request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text and "取り込みました。" in partial.text
    listing = c.get("/staff/import").text
    assert f"/staff/import/{job_id}" in listing and "registry.csv" in listing


def test_problems_render_escaped(login, personas, table_counts):
    c = login(personas.staff)
    before = table_counts()
    rows = [row(family="長" * 2000), row(person="7000002", household=SCRIPT)]
    r = _upload(c, to_csv(rows, header=HEADER + [SCRIPT]), dry_run=False, filename=f"{SCRIPT}.csv")
    page = c.get(r.headers["location"]).text
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the unknown column's notice and the file name
    assert "50文字以内で入力してください" in page and "番号は40文字以内の半角英数字とハイフンで入力してください" in page
    assert "2 件のエラーがあるため、何も書き込んでいません" in page
    assert table_counts() == before


def test_unreadable_and_oversized_uploads_end_as_failed_jobs(login, personas, monkeypatch):
    c = login(personas.staff)
    page = c.get(_upload(c, b"\x00\x01\x02binary", dry_run=True).headers["location"]).text
    assert "NUL 文字が含まれています" in page
    monkeypatch.setattr(get_settings(), "max_upload_bytes", 1024 * 1024)
    r = _upload(c, b"a" * (1024 * 1024 + 1), dry_run=True)
    assert "ファイルが大きすぎます" in c.get(r.headers["location"]).text


def test_missing_file_is_a_form_error_not_a_crash(login, personas):
    c = login(personas.staff)
    r = c.post("/staff/import", data={"csrftoken": c.cookies.get("csrftoken", "")})
    assert r.status_code == 422 and "CSVファイルを選んでください" in r.text
    r = c.post(
        "/staff/import", files={"file": ("", b"", "text/csv")}, data={"csrftoken": c.cookies.get("csrftoken", "")}
    )
    assert r.status_code == 422


def test_running_job_polls_and_a_dead_one_is_reported_interrupted(login, personas, connection):
    c = login(personas.staff)
    job = service.create_job(engine=connection, actor=IMPORT_ACTOR, filename="big.csv", dry_run=False)
    service._save(connection, job.id, status=ImportStatus.running, total_rows=200)
    with service._live_lock:
        service._live[job.id] = 50  # live progress of a run in this process
    partial = c.get(f"/staff/import/{job.id}/progress").text
    assert f'hx-get="/staff/import/{job.id}/progress"' in partial and 'hx-trigger="every 1s"' in partial
    assert 'max="200" value="50"' in partial

    # The process running it dies (its pid is gone): the job is interrupted, and says so.
    service._forget(job.id)
    finished = subprocess.Popen(["true"])
    finished.wait()
    dead = finished.pid
    service._save(connection, job.id, worker=f"{socket.gethostname()}:{dead}")
    page = c.get(f"/staff/import/{job.id}").text
    assert "中断（書き込みなし）" in page and "同じファイルをもう一度取り込めます" in page
    assert 'hx-trigger="every 1s"' not in page


def test_a_job_of_this_process_that_is_no_longer_running_is_interrupted(db, connection):
    job = service.create_job(engine=connection, actor=IMPORT_ACTOR, filename="x.csv", dry_run=False)
    service._forget(job.id)
    assert service.get_job(session=db, job_id=job.id).status == ImportStatus.interrupted


def test_stored_uploads_are_private():
    path = service.store_upload(job_id=987654, source=io.BytesIO(b"abc"))
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.parent == get_settings().resolved_data_dir / "imports"
    finally:
        path.unlink()


def test_example_file_downloads_and_imports_cleanly(login, personas, run_import):
    c = login(personas.staff)
    r = c.get("/staff/import/example.csv")
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    job = run_import(r.content, dry_run=True)
    assert (job.status, job.error_count, job.total_rows) == (ImportStatus.done, 0, 5)


def test_unknown_job_is_404(login, personas):
    assert login(personas.staff).get("/staff/import/999999").status_code == 404


@pytest.mark.parametrize("who", ["paramedic", "resident", "doctor"])
def test_only_staff_may_import(login, personas, who):
    c = login(getattr(personas, who))
    assert c.get("/staff/import").status_code == 403
    r = c.post(
        "/staff/import",
        data={"csrftoken": c.cookies.get("csrftoken", "")},
        files={"file": ("x.csv", to_csv([row()]), "text/csv")},
    )
    assert r.status_code == 403


def test_multipart_without_a_valid_token_first_is_refused_not_a_crash(login, personas, table_counts):
    c = login(personas.staff)
    token = c.cookies.get("csrftoken", "")
    before = table_counts()
    no_header = {"x-csrftoken": ""}
    file_first = c.post(
        "/staff/import",
        files=[("file", ("x.csv", to_csv([row()]), "text/csv")), ("csrftoken", (None, token))],
        headers=no_header,
    )
    wrong = c.post(
        "/staff/import",
        data={"csrftoken": "forged"},
        files={"file": ("x.csv", to_csv([row()]), "text/csv")},
        headers=no_header,
    )
    garbage = c.post(
        "/staff/import",
        content=b"--xyz\r\nnot a part",
        headers=no_header | {"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert [r.status_code for r in (file_first, wrong, garbage)] == [403, 403, 403]
    assert table_counts() == before
