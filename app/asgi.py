"""ASGI entry point for uvicorn workers. ``lifeline serve`` migrates once before workers start."""

from app.core import logs
from app.main import create_app

# Also when started by another server (``uvicorn app.asgi:app``, gunicorn): our format, and
# uvicorn's access log (concrete paths, query strings) silenced in favour of ours.
logs.configure()
app = create_app(run_migrations=False)
