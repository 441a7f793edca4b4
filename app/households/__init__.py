"""Households registered for the emergency kit."""
