"""What every start does before serving: schema migrations and reference data.

Called by the entry points (the application factory, the CLI commands, the demo), never by
``app.core``: seeding the region's institutions is the directory domain's work.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core import db
from app.directory import service as directory


def prepare_database(engine: Engine | None = None) -> None:
    """Migrate to the latest schema and seed the region's institutions (both idempotent)."""
    engine = engine or db.get_engine()
    db.upgrade(engine)
    with Session(engine) as session:
        directory.seed_region(session=session)
