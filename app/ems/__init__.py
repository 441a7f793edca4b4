"""Serving the EMS field app (``ems_pwa/``) at ``/ems/``."""
