"""Alembic environment: runs against the engine handed over by app.core.db."""
from alembic import context

import app.models  # noqa: F401  (registers every table on the metadata)
from app.core.db import get_engine, metadata

config = context.config
engine = config.attributes.get("connection_engine") or get_engine()

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
