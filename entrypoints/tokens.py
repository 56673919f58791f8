"""Minting bearer tokens: HS256 JWTs with `sub`, `exp` and `roles` (CONTRACT.md, Auth).

`checkout-engine token` and the launcher's demo tokens mint them here; the API only
verifies them, so the algorithm is the one it accepts (api/auth.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import jwt

from api.auth import ALGORITHM


def mint_token(
    secret: str, subject: str, roles: Iterable[str] = (), ttl_seconds: int = 3600
) -> str:
    now = int(time.time())
    claims = {"sub": subject, "iat": now, "exp": now + ttl_seconds, "roles": sorted(set(roles))}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
