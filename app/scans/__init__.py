"""EMS scans: verify a card, then show the emergency summary, audited before it is returned."""
