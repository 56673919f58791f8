"""Fakes of the application's ports, each under the contract its real adapters pass."""

from __future__ import annotations

from tests.fakes.gateway import FakeGateway

__all__ = ["FakeGateway"]
