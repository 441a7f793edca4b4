"""Bulk import of households and their members from the city's resident-registry extract."""
