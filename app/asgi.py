"""ASGI entry point for uvicorn workers. ``lifeline serve`` migrates once before workers start."""
from app.main import create_app

app = create_app(run_migrations=False)
