"""Change history: who changed what, when, with old and new values."""
