"""EMS devices: enrolled with a one-time code, bound to crew sessions, disabled centrally."""
