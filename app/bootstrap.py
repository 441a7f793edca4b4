"""What every start does before serving: schema migrations and reference data.

Called by the entry points (the application factory, the CLI commands, the demo), never by
``app.core``: seeding the region's institutions is the directory domain's work.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.cards import service as cards
from app.core import db
from app.directory import service as directory

log = logging.getLogger(__name__)


def prepare_database(engine: Engine | None = None) -> None:
    """Migrate to the latest schema and seed the region's institutions (both idempotent); warn about
    printed cards that no longer verify."""
    engine = engine or db.get_engine()
    db.upgrade(engine)
    with Session(engine) as session:
        directory.seed_region(session=session)
        # Cards signed before the low-s rule scan as forged until replaced (docs/operations.md, section 7).
        if high_s := cards.active_high_s(session=session):
            log.warning(cards.high_s_notice(high_s))
