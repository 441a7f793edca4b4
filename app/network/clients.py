"""Network clients and the OAuth2 client-credentials grant (tokens are AuthSessions of kind "fhir")."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from app.auth import service as auth
from app.auth.models import Role, User
from app.core.errors import AuthFailed, Invalid
from app.core.security import hash_password, verify_password
from app.directory import service as directory
from app.directory.models import Institution
from app.network.models import DEFAULT_SCOPES, NetworkClient  # noqa: F401  (DEFAULT_SCOPES re-exported)

TOKEN_KIND = "fhir"  # never accepted by the web UI or /api/v1 (they want "web" / "api")
TOKEN_HOURS = 1
_SCOPE_WORDS = ("system/*.read", "system/*.write")


@dataclass
class Caller:
    """The institution's system behind a FHIR request."""

    user: User
    client: NetworkClient
    institution: Institution

    def may(self, resource_type: str, access: str) -> bool:
        scopes = self.client.scopes.split()
        return f"system/*.{access}" in scopes or f"system/{resource_type}.{access}" in scopes


def _check_scopes(scopes: str) -> str:
    words = scopes.split()
    for word in words:
        kind, _, access = word.partition("/")[2].partition(".")
        if not word.startswith("system/") or access not in ("read", "write") or not (kind == "*" or kind.isalpha()):
            raise Invalid("スコープ「%(scope)s」は使えません", field="scopes", scope=word)
    return " ".join(words)


def create(
    *, session: Session, institution_id: int, created_by: str, scopes: str = DEFAULT_SCOPES
) -> tuple[NetworkClient, str]:
    """Register an institution's system; returns the client and its secret (shown once, only the hash is kept)."""
    institution = directory.get_institution(session=session, institution_id=institution_id)
    scopes = _check_scopes(scopes)
    client_id = f"nc-{secrets.token_hex(6)}"
    secret = secrets.token_urlsafe(32)
    # The audit log names users: each client acts through its own user row (role network, no usable password).
    user = User(
        username=client_id,
        display_name=f"{institution.name} システム",
        role=Role.network,
        organisation=institution.name,
        institution_id=institution.id,
        password_hash=hash_password(secrets.token_urlsafe(32)),
    )
    session.add(user)
    session.flush()
    client = NetworkClient(
        client_id=client_id,
        secret_hash=hash_password(secret),
        user_id=user.id,
        institution_id=institution.id,
        scopes=scopes,
        created_by=created_by,
    )
    session.add(client)
    session.commit()
    session.refresh(client)
    return client, secret


def list_clients(*, session: Session) -> list[tuple[NetworkClient, Institution]]:
    """Every client with its institution, newest first."""
    return list(session.exec(select(NetworkClient, Institution).join(Institution).order_by(NetworkClient.id.desc())))


def set_active(*, session: Session, client_id: str, active: bool) -> NetworkClient:
    """Disable (or re-enable) a client; disabling ends its tokens at once (they are checked on every call)."""
    client = session.exec(select(NetworkClient).where(NetworkClient.client_id == client_id)).first()
    if client is None:
        raise Invalid("クライアントが見つかりません", field="client_id")
    client.active = active
    session.add(client)
    session.commit()
    return client


def issue_token(
    *, session: Session, client_id: str, client_secret: str, user_agent: str = ""
) -> tuple[str, NetworkClient]:
    """Client-credentials grant: a bearer token for the client's scopes, valid one hour."""
    client = session.exec(select(NetworkClient).where(NetworkClient.client_id == client_id.strip())).first()
    if not verify_password(client_secret, client.secret_hash if client else None) or not client.active:
        raise AuthFailed("クライアントIDまたはシークレットが違います")
    user = session.get(User, client.user_id)
    token, _ = auth.start_session(session=session, user=user, kind=TOKEN_KIND, user_agent=user_agent, hours=TOKEN_HOURS)
    return token, client


def caller_for(*, session: Session, token: str) -> Caller | None:
    """The active client behind a bearer token, or None."""
    user = auth.user_for_token(session=session, token=token, kind=TOKEN_KIND)
    if user is None or Role(user.role) != Role.network:
        return None
    client = session.exec(select(NetworkClient).where(NetworkClient.user_id == user.id)).first()
    if client is None or not client.active:
        return None
    return Caller(user=user, client=client, institution=session.get(Institution, client.institution_id))
