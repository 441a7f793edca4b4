"""Alembic environment: runs against the engine handed over by app.core.db."""

from alembic import context
from sqlalchemy import text

import app.models  # noqa: F401  (registers every table on the metadata)
from app.core.db import get_engine, metadata

config = context.config
engine = config.attributes.get("connection_engine") or get_engine()

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite changes a column by copying the table, dropping the original and renaming the copy
        # (batch_alter_table); with foreign keys enforced, dropping a table others point at
        # (household) fails. SQLite honours this switch only outside a transaction, so it is set on
        # the driver's connection before ours begins; the references are checked before the commit.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            if sqlite and (broken := connection.execute(text("PRAGMA foreign_key_check")).first()):
                raise RuntimeError(f"the migration left a broken reference: {tuple(broken)}")
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
