"""Printing kits, sheets and cards from the staff UI and the CLI."""
