"""The service's floor for benchmarks/scale.py: the real app with one more route that does nothing.

``app.asgi:app`` with all its middleware (access log, CSRF, language and security headers,
admission) and routes, plus ``POST /bench/floor`` taking the scan's request body (the same pydantic
model) in a plain ``def`` like the real route, and answering a small JSON object. Between the bare
FastAPI baseline and the scan endpoint, it shows how much of the gap is the service's own stack,
paid by every request, and how much is the scan's work. Never part of the service itself.
"""
from fastapi import APIRouter

from app.asgi import app
from app.scans.schemas import ScanRequest

router = APIRouter()


@router.post("/bench/floor")
def floor(body: ScanRequest) -> dict:
    return {"status": "genuine", "length": len(body.qr)}


app.include_router(router)
# First in line, as the scan routes are (app.main.routers): the route search costs the same.
app.router.routes.insert(0, app.router.routes.pop())
