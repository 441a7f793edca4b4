"""Who is asking: the signed-in user as a typed dependency, and the roles a route admits.

Permissions are declared on the route (``dependencies=[Depends(require_roles(...))]`` or a
typed alias such as ``StaffUser``), never as an ``if`` in its body.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth import service as auth
from app.auth.models import Role, User, UserPublic
from app.core.deps import SessionDep, bearer_token
from app.core.errors import DomainError, Forbidden

SESSION_COOKIE = "lifeline_session"


class NotAuthenticated(DomainError):
    status_code = 401


class PasswordChangeRequired(DomainError):
    """The account still has a password an administrator issued: the web UI sends the person to
    the password form, the API answers 403 with ``code`` set to this (app.main)."""

    status_code = 403
    code = "password_change_required"

    def __init__(self):
        super().__init__("管理者が発行した初期パスワードのままです。新しいパスワードを決めてください")


# What a person who must replace their password can still reach: the form itself and sign-out.
PASSWORD_CHANGE_PATHS = frozenset({"/account/password", "/api/v1/auth/logout"})


def request_token(request: Request) -> tuple[str | None, str]:
    """The session token and its kind: a bearer token (API) wins over the cookie (web UI)."""
    token = bearer_token(request)
    return (token, "api") if token is not None else (request.cookies.get(SESSION_COOKIE), "web")


def get_current_user(request: Request, session: SessionDep) -> User:
    """The signed-in user, from a bearer token (API) or the session cookie (web UI)."""
    token, kind = request_token(request)
    return signed_in(request, auth.user_for_token(session=session, token=token, kind=kind) if token else None)


def signed_in(request: Request, user: User | None) -> User:
    """``user``, remembered on the request; NotAuthenticated when there is none."""
    if user is None:
        raise NotAuthenticated("ログインしてください")
    if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise PasswordChangeRequired()
    # A detached snapshot for templates and error pages, valid whatever happens to the session.
    request.state.user = UserPublic.model_validate(user)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role):
    """A dependency admitting only users with one of ``roles``."""
    allowed = frozenset(roles)

    def _check(user: CurrentUser) -> User:
        if Role(user.role) not in allowed:
            raise Forbidden("この操作を行う権限がありません")
        return user

    _check.allowed_roles = allowed  # read by the authorization-matrix test
    return _check


StaffUser = Annotated[User, Depends(require_roles(Role.staff, Role.admin))]
AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
