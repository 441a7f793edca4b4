"""The network's JSON APIs: FHIR R4 for hospitals and clinics (``/fhir/r4``), and the crew's handoff status."""

from app.core.routing import combine
from app.network.router import destination, directory, discovery, patient

router = combine(discovery.router, patient.router, directory.router, destination.router)
