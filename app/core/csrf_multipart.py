"""Adapters that keep asgi-csrf from answering hostile requests with a 500.

asgi-csrf 0.11 (the latest) builds ``FormParser(..., FileClass=...)`` to stop at the first file
part; python-multipart dropped that argument, so every multipart POST without the CSRF header
crashed the middleware (a 500). This adapter speaks the old interface: a field named
``csrftoken`` before any file is accepted, a file first (or a malformed body) is refused (403).

Found by fuzzing (issue 9), also refused with 403 now instead of crashing: a form body that is not
UTF-8, a token or header with non-ASCII characters (``secrets.compare_digest`` refuses those
strings), and a multipart content type without ``; boundary=`` exactly spelled so (the library
splits on that literal; the header is put in its canonical form first, which the app reads alike).

Bearer-token calls without cookies skip the middleware altogether (``_bearer_without_cookies``).
"""

from __future__ import annotations

import hmac
import secrets
import types
from urllib.parse import parse_qsl

import asgi_csrf
from python_multipart import FormParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

_decorator = asgi_csrf.asgi_csrf_decorator


class _TokenFormParser:
    def __init__(self, content_type, on_field, _on_end=None, *, boundary=None, FileClass=None):  # noqa: N803 - asgi-csrf's name
        def on_file(_file) -> None:
            raise asgi_csrf.FileBeforeToken

        if not boundary:
            raise asgi_csrf.FileBeforeToken
        self._parser = FormParser(content_type, on_field, on_file, boundary=boundary)

    def write(self, data: bytes) -> int:
        try:
            return self._parser.write(data)
        except FormParserError:
            raise asgi_csrf.FileBeforeToken from None


def _compare_any_text(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


# ``secrets`` as asgi-csrf sees it: the same module, except that any text compares (a non-ASCII guess
# simply does not match) where the standard function raises TypeError.
_secrets = types.ModuleType("secrets")
_secrets.__dict__.update(vars(secrets), compare_digest=_compare_any_text)


async def _parse_form_urlencoded(receive):
    """asgi-csrf's reader, tolerating bytes that are not UTF-8 (the route then refuses the body itself)."""
    messages, more_body = [], True
    while more_body:
        message = await receive()
        messages.append(message)
        more_body = message.get("more_body", False)
    body = b"".join(m.get("body", b"") for m in messages)

    async def replay_receive():
        return messages.pop(0) if messages else await receive()

    return dict(parse_qsl(body.decode("utf-8", "replace"))), replay_receive


def _canonical_multipart(scope: dict) -> dict:
    headers = scope.get("headers") or []
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"content-type" and value.lower().startswith(b"multipart/form-data"):
            boundary = parse_options_header(value)[1].get(b"boundary", b"")
            fixed = list(headers)
            fixed[index] = (b"content-type", b"multipart/form-data; boundary=" + boundary)
            return {**scope, "headers": fixed}
    return scope


def _bearer_without_cookies(scope) -> bool:
    """An API call (EMS app, FHIR client): asgi-csrf would let it pass anyway, after minting and
    signing a token nobody reads (a CSPRNG draw and a signature, a few percent of a scan's CPU)."""
    headers = dict(scope["headers"])
    return b"cookie" not in headers and headers.get(b"authorization", b"").startswith(b"Bearer ")


def _tolerant_decorator(*args, **kwargs):
    protect = _decorator(*args, **kwargs)

    def wrap(app):
        protected = protect(app)

        async def csrf(scope, receive, send):
            if scope["type"] == "http" and _bearer_without_cookies(scope):
                await app(scope, receive, send)  # nothing a browser sends on its own: no CSRF, no token cookie
                return
            await protected(_canonical_multipart(scope) if scope["type"] == "http" else scope, receive, send)

        return csrf

    return wrap


def install() -> None:
    """Swap the adapters into asgi-csrf (idempotent)."""
    asgi_csrf.FormParser = _TokenFormParser
    asgi_csrf.secrets = _secrets
    asgi_csrf._parse_form_urlencoded = _parse_form_urlencoded
    asgi_csrf.asgi_csrf_decorator = _tolerant_decorator
