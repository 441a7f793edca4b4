"""Let asgi-csrf read the token of multipart forms (file uploads) with today's python-multipart.

asgi-csrf 0.11 (the latest) builds ``FormParser(..., FileClass=...)`` to stop at the first file
part; python-multipart dropped that argument, so every multipart POST without the CSRF header
crashed the middleware (a 500). This adapter speaks the old interface: a field named
``csrftoken`` before any file is accepted, a file first (or a malformed body) is refused (403).
"""
from __future__ import annotations

import asgi_csrf
from python_multipart import FormParser
from python_multipart.exceptions import FormParserError


class _TokenFormParser:
    def __init__(self, content_type, on_field, _on_end=None, *, boundary=None, FileClass=None):  # noqa: N803 - asgi-csrf's name
        def on_file(_file) -> None:
            raise asgi_csrf.FileBeforeToken

        self._parser = FormParser(content_type, on_field, on_file, boundary=boundary)

    def write(self, data: bytes) -> int:
        try:
            return self._parser.write(data)
        except FormParserError:
            raise asgi_csrf.FileBeforeToken from None


def install() -> None:
    """Swap the adapter into asgi-csrf (idempotent)."""
    asgi_csrf.FormParser = _TokenFormParser
