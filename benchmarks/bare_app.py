"""The baseline for benchmarks/scale.py: a bare FastAPI app with one trivial JSON endpoint.

It takes the scan request's body shape (validated by pydantic, as the real route does) and
answers a small JSON object, so the difference to ``POST /api/v1/scans`` is the scan's own work.
"""

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Body(BaseModel):
    qr: str
    incident: str = ""
    reason: str = ""


@app.post("/scan")
def scan(body: Body) -> dict:
    # A plain ``def`` like the real route: both run in the thread pool.
    return {"status": "genuine", "length": len(body.qr)}
