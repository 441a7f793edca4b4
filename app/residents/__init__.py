"""Residents and their families: the access code printed on the issuance letter."""
