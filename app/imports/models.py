"""One row per import run: what was uploaded, how far it got, and what it found."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.models import created_at_field, enum_field


class ImportStatus(str, Enum):
    pending = "pending"
    validating = "validating"
    running = "running"
    done = "done"
    failed = "failed"  # refused (errors in the file) or aborted; nothing was written
    interrupted = "interrupted"  # the process died mid-run; the transaction never committed


ACTIVE = (ImportStatus.pending, ImportStatus.validating, ImportStatus.running)


class ImportJobBase(SQLModel):
    filename: str = Field(default="", max_length=200)
    status: ImportStatus = enum_field(ImportStatus, ImportStatus.pending, length=12)
    dry_run: bool = False
    total_rows: int = 0
    processed_rows: int = 0
    # Rows (one person each) created / updated / unchanged, and households created / updated.
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    households_created: int = 0
    households_updated: int = 0
    error_count: int = 0
    created_at: datetime = created_at_field()
    finished_at: datetime | None = None


class ImportJob(ImportJobBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_by_name: str = Field(default="", max_length=100)
    # JSON lists of {line, column, message, params}; messages are ids translated on display.
    # They never quote cell values, so no personal data ends up here.
    errors: str = Field(default="[]", sa_type=Text)
    notices: str = Field(default="[]", sa_type=Text)
    # "host:pid" of the process running the job, to tell a live run from a crashed one.
    worker: str = Field(default="", max_length=120)
    updated_at: datetime = Field(default_factory=utcnow)


class ImportJobPublic(ImportJobBase):
    id: int
    created_by_name: str
    errors: list[dict]
    notices: list[dict]

    @classmethod
    def of(cls, job: ImportJob, processed: int | None = None) -> ImportJobPublic:
        data = job.model_dump(exclude={"errors", "notices"})
        if processed is not None:
            data["processed_rows"] = processed
        return cls(**data, errors=json.loads(job.errors or "[]"), notices=json.loads(job.notices or "[]"))

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        return min(100, self.processed_rows * 100 // self.total_rows) if self.total_rows else 0
