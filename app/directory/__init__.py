"""Reference data: the region's institutions and practitioners."""
