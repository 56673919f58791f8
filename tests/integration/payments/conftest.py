from __future__ import annotations

from tests.integration.payments.sandbox import sandbox, sandbox_server

__all__ = ["sandbox", "sandbox_server"]
