"""Bearer-token authentication and role checks (CONTRACT.md, Auth).

Tokens are HS256 JWTs. Only HS256 is accepted, so `alg: none` and algorithm-confusion
tokens fail like any other bad token: 401 with `WWW-Authenticate: Bearer`. A valid token
without the needed role is 403.

Roles (CONTRACT.md, Additions): `admin` runs the shop; `auditor` reads orders, their
payments and the order listing; `service` (internal callers) reads any order and its
payment. Neither passes a write's role check, and customer writes (checkout, cancel, pay)
refuse a token carrying either (403): its `sub` names no customer. A token with no role
is a customer, who reads and changes only their own orders.

Verifying a token cost about 96 µs of CPU here (PyJWT checks each segment's alphabet
character by character), and a frontend sends the same token with every poll and every
checkout. So a token that verified is remembered, by its exact text and the secret, with
the principal it names and its expiry (``VERIFIED_LIMIT`` of them, the oldest forgotten
first). A remembered token is accepted only before its ``exp``, checked again on every
request as PyJWT checks it; its ``nbf`` and ``iat`` were already in the past when it was
verified. A token that failed is never remembered, so a bad one costs the full check each
time and cannot crowd out good ones. Nothing else changes a token's verdict: the secret is
part of the key, and tokens carry no state to revoke.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from starlette.requests import Request

from api.problems import Problem
from api.services import services_of

ALGORITHM = "HS256"  # the only one accepted (entrypoints/tokens.py mints with it)
ADMIN = "admin"
AUDITOR = "auditor"
SERVICE = "service"
READ_ONLY_ROLES = frozenset({AUDITOR, SERVICE})
# Who reads any order and its payment, not only their own.
ORDER_READERS = frozenset({ADMIN, AUDITOR, SERVICE})
VERIFIED_LIMIT = 10_000  # tokens remembered as verified, per process


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def is_read_only(self) -> bool:
        return not self.roles.isdisjoint(READ_ONLY_ROLES)

    def may_read(self, owner: str | None) -> bool:
        """Owners, admins, auditors and services read an order; to others it does not exist."""
        return not self.roles.isdisjoint(ORDER_READERS) or (
            owner is not None and owner == self.subject
        )


def _unauthorized(detail: str, *, invalid: bool = True) -> Problem:
    challenge = 'Bearer error="invalid_token"' if invalid else "Bearer"
    return Problem(
        401,
        "Unauthorized",
        detail,
        kind="unauthorized",
        headers={"WWW-Authenticate": challenge},
    )


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise _unauthorized("A bearer token is required.", invalid=False)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def _roles(claims: dict[str, object]) -> frozenset[str]:
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise _unauthorized("The roles claim must be a list of strings.")
    return frozenset(roles)


# (secret, token) -> (the principal it names, its exp): tokens that verified.
_verified: dict[tuple[str, str], tuple[Principal, float]] = {}


def principal_from(authorization: str | None, secret: str) -> Principal:
    """Verify the Authorization header value; raise a 401 problem for any bad token."""
    token = _bearer_token(authorization)
    remembered = _verified.get((secret, token))
    if remembered is not None:
        principal, expires = remembered
        if time.time() < expires:  # PyJWT: expired when exp <= now
            return principal
        _verified.pop((secret, token), None)
    principal, expires = _verify(token, secret)
    if len(_verified) >= VERIFIED_LIMIT:
        _verified.pop(next(iter(_verified), (secret, token)), None)  # the oldest
    _verified[(secret, token)] = (principal, expires)
    return principal


def _verify(token: str, secret: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The token has expired.") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("The token is malformed or its signature is invalid.") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise _unauthorized("The token's sub claim must name the customer.")
    return Principal(subject, _roles(claims)), float(claims["exp"])  # PyJWT checked it


def authenticate(request: Request) -> Principal:
    secret = services_of(request).jwt_secret
    return principal_from(request.headers.get("authorization"), secret)


def _forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail, kind="forbidden")


def require_role(principal: Principal, role: str, *others: str) -> Principal:
    """The principal, if it has ``role`` or one of ``others``; else 403."""
    wanted = (role, *others)
    if principal.roles.isdisjoint(wanted):
        if others:
            names = ", ".join(repr(name) for name in wanted)
            raise _forbidden(f"This needs one of the roles {names}.")
        raise _forbidden(f"This needs the {role!r} role.")
    return principal


def require_customer(principal: Principal) -> Principal:
    """Customer writes (checkout, cancel, pay) are refused to read-only tokens."""
    if principal.is_read_only:
        roles = ", ".join(sorted(principal.roles & READ_ONLY_ROLES))
        raise _forbidden(f"A token with the role {roles} is read-only: it cannot change orders.")
    return principal
