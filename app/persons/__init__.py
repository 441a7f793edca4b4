"""Persons (card holders) and their emergency dataset (DESIGN.md §3)."""
