"""The service's floors for benchmarks/scale.py: the real app with two more routes.

``app.asgi:app`` with all its middleware (access log, CSRF, language and security headers,
admission) and routes, plus two routes taking the scan's request body (the same pydantic model)
in a plain ``def`` like the real route:

* ``POST /bench/floor`` does nothing and answers a small JSON object: what every request pays
  for the service's own stack;
* ``POST /bench/audited`` only appends the audit record a scan writes (``app.audit.service.append``,
  hashed into the chain and committed before the answer, as DESIGN.md §6 requires): no sign-in,
  card or summary. What the one write every scan must make costs on top of that stack.

Between the bare FastAPI baseline and the scan endpoint, they show how much of the gap is the
service's stack, how much the audit write alone, and how much the rest of the scan's work.
Never part of the service itself.
"""

from fastapi import APIRouter

from app.asgi import app
from app.audit import service as audit
from app.core.deps import EngineDep
from app.scans.schemas import ScanRequest

router = APIRouter()


@router.post("/bench/floor")
def floor(body: ScanRequest) -> dict:
    return {"status": "genuine", "length": len(body.qr)}


@router.post("/bench/audited")
def audited(body: ScanRequest, engine: EngineDep) -> dict:
    # The fields a scan records (app.auth.access_log.record_access), under an action of its own.
    event = audit.append(
        engine=engine,
        action="bench.audited",
        actor_user_id=None,
        actor_username="bench-crew",
        actor_role="paramedic",
        organisation="ベンチマーク",
        device="bench 端末",
        person_id=None,
        household_id=None,
        fields="emergency_summary",
        purpose=body.reason,
        incident=body.incident,
        emergency=False,
        outcome="ok",
        ip="127.0.0.1",
    )
    return {"status": "genuine", "audit_id": event.id}


app.include_router(router)
# First in line, as the scan routes are (app.main.routers): the route search costs the same.
app.router.routes[:0] = [app.router.routes.pop(), app.router.routes.pop()]
