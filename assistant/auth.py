"""Who is asking over HTTP: a citizen (no Authorization header) or a civil servant (a valid bearer token).

An Authorization header that is present but not a valid, unrevoked staff token is a 401, never a
silent fall-back to the citizen path, so a client learns at once that its token stopped working.
"""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from assistant.staff import StaffRegistry

bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="StaffToken",
    description="Civil servants only: a token from `python -m assistant.staff add NAME`. Citizens send no header.",
)


@dataclass(frozen=True)
class Caller:
    staff: str | None = None  # the staff member's name; None for a citizen

    @property
    def audience(self) -> str:
        return "staff" if self.staff else "public"


CITIZEN = Caller()


class Unauthorized(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def resolve_caller(registry: StaffRegistry, authorization: str | None) -> Caller:
    """The caller for an Authorization header value (None: a citizen); raises Unauthorized for a bad one."""
    if authorization is None:
        return CITIZEN
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be 'Bearer <staff token>'. Citizens send no Authorization header.")
    name = registry.verify(token.strip())
    if name is None:
        raise Unauthorized("The staff token is invalid or has been revoked.")
    return Caller(name)


def staff_caller(registry: StaffRegistry):
    """A FastAPI dependency giving the `Caller` of a request (and declaring the bearer scheme in OpenAPI)."""

    def caller(request: Request, _credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme)) -> Caller:
        return resolve_caller(registry, request.headers.get("authorization"))

    return caller


def install_auth(app: FastAPI) -> None:
    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized):
        return JSONResponse(status_code=401, content={"error": "unauthorized", "message": exc.message},
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def session_caller(registry: StaffRegistry, token: str | None) -> Caller:
    """The web UI's session: a token that no longer verifies (revoked meanwhile) makes it a citizen's again."""
    try:
        return resolve_caller(registry, f"Bearer {token}") if token else CITIZEN
    except Unauthorized:
        return CITIZEN
