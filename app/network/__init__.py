"""The regional network: FHIR R4 API for hospitals' systems, hospital handoff (issue 8)."""
