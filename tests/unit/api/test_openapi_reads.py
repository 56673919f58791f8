"""The document says what reads reflect, who may call what, and which bodies are optional."""

from __future__ import annotations

from typing import Any

from api.app import OPERATIONS
from api.openapi import build_document


def _operations() -> dict[str, dict[str, Any]]:
    document = build_document(OPERATIONS)
    return {
        operation["operationId"]: operation
        for path in document["paths"].values()
        for operation in path.values()
    }


def test_only_the_checkout_session_body_is_optional() -> None:
    bodies = {
        operation_id: operation["requestBody"]["required"]
        for operation_id, operation in _operations().items()
        if "requestBody" in operation
    }
    assert bodies.pop("createCheckoutSession") is False
    assert all(bodies.values()), bodies


def test_single_order_reads_document_read_your_writes() -> None:
    operations = _operations()
    for operation_id in ("getOrder", "getOrderPayment", "listRefunds"):
        assert "every write answered before" in operations[operation_id]["description"]
    header = next(p for p in operations["getOrder"]["parameters"] if p["name"] == "X-Log-Position")
    assert "beyond the log" in header["description"]
    assert "head" in header["description"]
    assert "X-Log-Position" in build_document(OPERATIONS)["info"]["description"]


def test_reads_document_their_rate_limit_and_writes_the_read_only_roles() -> None:
    operations = _operations()
    for read in ("getOrder", "getOrderPayment", "listOrders", "listProducts", "listRefunds"):
        assert "429" in operations[read]["responses"], read
    for write in ("checkout", "cancelOrder", "verifyRazorpayPayment", "createCheckoutSession"):
        assert "403" in operations[write]["responses"], write
    assert "`admin` or `auditor`" in operations["listOrders"]["description"]
    assert "`service`" in operations["getOrder"]["description"]


def test_readiness_documents_its_503() -> None:
    assert {"200", "503"} <= set(_operations()["readyz"]["responses"])
