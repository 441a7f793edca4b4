"""Append audit records in a loop, as a busy hour of scans does: ``python -m tests.crash.appender COUNT``."""

from __future__ import annotations

import os
import sys

from app import bootstrap
from app.audit import service as audit
from app.core import db


def append(count: int) -> None:
    bootstrap.prepare_database()
    engine = db.get_engine()
    for n in range(count):
        audit.append(
            engine=engine,
            action="scan.view",
            actor_username=f"crew-{os.getpid()}",
            actor_role="paramedic",
            organisation="埼玉東部消防組合 加須消防署",
            device="加須1号救急車 端末",
            fields="emergency_summary",
            incident=f"R8-{n:06d}",
            purpose="意識障害",
            emergency=n % 10 == 0,
            outcome="ok",
            ip="127.0.0.1",
        )


if __name__ == "__main__":
    append(int(sys.argv[1]))
