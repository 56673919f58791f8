"""Bearer tokens: which are accepted, and how each bad one is refused."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from api import auth
from api.auth import Principal, principal_from, require_customer, require_role
from api.problems import Problem
from entrypoints.tokens import mint_token
from tests.waiting import wait_until

SECRET = "unit-secret-that-is-long-enough-for-hs256-0123456789"
OTHER_SECRET = "another-secret-long-enough-for-hs256-0123456789"


def _header(claims: dict[str, Any], key: str = SECRET, algorithm: str = "HS256") -> str:
    return f"Bearer {jwt.encode(claims, key, algorithm=algorithm)}"


def _refusal(authorization: str | None) -> Problem:
    with pytest.raises(Problem) as caught:
        principal_from(authorization, SECRET)
    return caught.value


def test_a_minted_token_names_the_customer_and_roles() -> None:
    token = mint_token(SECRET, "cust-1", ["admin"])
    principal = principal_from(f"Bearer {token}", SECRET)
    assert principal == Principal("cust-1", frozenset({"admin"}))
    assert principal.is_admin


def test_the_scheme_is_case_insensitive_and_roles_are_optional() -> None:
    header = _header({"sub": "c", "exp": int(time.time()) + 60})
    principal = principal_from(header.replace("Bearer", "bearer"), SECRET)
    assert principal.roles == frozenset()


def _in(seconds: int) -> int:
    """A fixed time in the future (2033) or the past (2001): the same test ids in every
    pytest-xdist worker."""
    return (2_000_000_000 if seconds > 0 else 1_000_000_000) + seconds


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer    ",
        "Token abc",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        _header({"sub": "c", "exp": _in(-5)}),
        _header(
            {"sub": "c", "exp": _in(60)}, key="another-secret-long-enough-for-hs256-0123456789"
        ),
        "Bearer " + jwt.encode({"sub": "c", "exp": _in(60)}, None, algorithm="none"),
        _header({"sub": "c", "exp": _in(60)}, key=SECRET * 2, algorithm="HS512"),
        _header({"exp": _in(60)}),
        _header({"sub": "c"}),
        _header({"sub": "", "exp": _in(60)}),
        _header({"sub": "c", "exp": _in(60), "roles": "admin"}),
        _header({"sub": "c", "exp": _in(60), "roles": [1]}),
    ],
)
def test_bad_tokens_are_401_with_an_invalid_token_challenge(authorization: str) -> None:
    problem = _refusal(authorization)
    assert problem.status == 401
    assert problem.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_missing_header_is_401_with_a_plain_challenge() -> None:
    problem = _refusal(None)
    assert problem.status == 401
    assert problem.headers["WWW-Authenticate"] == "Bearer"


def test_an_expired_token_says_so() -> None:
    assert "expired" in _refusal(_header({"sub": "c", "exp": _in(-5)})).detail


def test_a_missing_role_is_403() -> None:
    customer = Principal("cust-1", frozenset({"service"}))
    with pytest.raises(Problem) as caught:
        require_role(customer, "admin")
    assert caught.value.status == 403
    admin = Principal("ops", frozenset({"admin"}))
    assert require_role(admin, "admin") is admin


@pytest.mark.parametrize(
    ("principal", "owner", "allowed"),
    [
        (Principal("a", frozenset()), "a", True),
        (Principal("a", frozenset()), "b", False),
        (Principal("a", frozenset()), None, False),
        (Principal("ops", frozenset({"admin"})), "b", True),
        (Principal("ops", frozenset({"admin"})), None, True),
        (Principal("audit", frozenset({"auditor"})), "b", True),
        (Principal("fulfilment", frozenset({"service"})), "b", True),
        (Principal("a", frozenset({"something-else"})), "b", False),
    ],
)
def test_owners_admins_auditors_and_services_may_read(
    principal: Principal, owner: str | None, allowed: bool
) -> None:
    assert principal.may_read(owner) is allowed


def test_a_route_for_several_roles_takes_any_of_them() -> None:
    auditor = Principal("audit", frozenset({"auditor"}))
    assert require_role(auditor, "admin", "auditor") is auditor
    with pytest.raises(Problem) as caught:
        require_role(Principal("svc", frozenset({"service"})), "admin", "auditor")
    assert caught.value.status == 403
    assert "'admin', 'auditor'" in caught.value.detail


@pytest.mark.parametrize("roles", [{"service"}, {"auditor"}, {"admin", "service"}])
def test_read_only_roles_make_no_customer_writes(roles: set[str]) -> None:
    with pytest.raises(Problem) as caught:
        require_customer(Principal("x", frozenset(roles)))
    assert caught.value.status == 403


@pytest.mark.parametrize("roles", [set(), {"admin"}])
def test_customers_and_admins_make_customer_writes(roles: set[str]) -> None:
    principal = Principal("x", frozenset(roles))
    assert require_customer(principal) is principal


def _counting_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    decoded: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return decoded


def test_a_token_that_verified_is_not_verified_again_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded = _counting_decodes(monkeypatch)
    expires = int(time.time()) + 2
    header = _header({"sub": "remembered", "roles": ["admin"], "exp": expires})

    first = principal_from(header, SECRET)
    again = principal_from(header, SECRET)
    assert first == again == Principal("remembered", frozenset({"admin"}))
    assert len(decoded) == 1

    # PyJWT's clock and ours are the same one: wait for it to pass the token's exp.
    wait_until(lambda: time.time() >= expires, timeout=5, what="the token's exp to pass")
    with pytest.raises(Problem) as caught:
        principal_from(header, SECRET)
    assert caught.value.status == 401
    assert "expired" in caught.value.detail
    assert len(decoded) == 2  # checked in full again, and refused as PyJWT refuses it


def test_a_remembered_token_is_not_taken_under_another_secret() -> None:
    header = _header({"sub": "one-secret", "exp": int(time.time()) + 60})
    principal_from(header, SECRET)

    with pytest.raises(Problem) as caught:
        principal_from(header, OTHER_SECRET)
    assert caught.value.status == 401


def test_a_token_that_failed_is_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded = _counting_decodes(monkeypatch)
    forged = _header({"sub": "forged", "exp": int(time.time()) + 60}, key=OTHER_SECRET)

    for _ in range(3):
        assert _refusal(forged).status == 401
    assert len(decoded) == 3
    assert all(token != forged.removeprefix("Bearer ") for _, token in auth._verified)


def test_the_remembered_tokens_are_bounded_and_the_oldest_go_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auth, "VERIFIED_LIMIT", 3)
    monkeypatch.setattr(auth, "_verified", {})
    headers = [_header({"sub": f"c{n}", "exp": int(time.time()) + 60}) for n in range(5)]
    for header in headers:
        principal_from(header, SECRET)

    remembered = [token for _, token in auth._verified]
    assert remembered == [header.removeprefix("Bearer ") for header in headers[2:]]
