"""Schemathesis fuzzes every operation of /openapi.json on the live API, and follows its
links statefully, as a customer, an admin and an auditor: no 500, any other 5xx documented,
every status, content type, header and body as the document describes them.

Bounded by CHECKOUT_FUZZ_EXAMPLES and seeded by CHECKOUT_FUZZ_SEED (tests/e2e/fuzzing.py).
"""

from __future__ import annotations

import pytest
from schemathesis import GenerationMode

from sandbox.server import BackgroundSandbox
from tests.e2e.conftest import StartApi
from tests.e2e.fuzzing import CUSTOMER, GENEROUS_LIMITS, TOKEN_ROLES, FuzzTarget, fuzz_examples
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import provider_settings

KINDS = sorted(TOKEN_ROLES)
FEW = 10  # scenarios too few to be sure one follows a link


@pytest.fixture
def target(start_api: StartApi, provider_sandbox: BackgroundSandbox) -> FuzzTarget:
    # Both providers configured (against the sandbox), so routes answer as in production;
    # no worker: payments stay as checkout left them.
    api = start_api(**provider_settings(provider_sandbox.base_url, **GENEROUS_LIMITS))
    # An order to find in the listings, so their links lead somewhere from the first step.
    placed = api.checkout(CUSTOMER, [{"sku": "SKU-1", "quantity": 1}])
    assert placed.status_code == 201, placed.text
    return FuzzTarget.of(api)


@pytest.mark.parametrize("kind", KINDS)
def test_every_operation_survives_fuzzing(target: FuzzTarget, kind: str) -> None:
    operations = list(target.operations())
    assert len(operations) == len(target.schema)
    failures = [
        report
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (report := target.fuzz(operation, kind, mode))
    ]
    assert not failures, "\n\n".join(failures)
    reached = {label for label, _ in target.statuses}
    assert reached == {operation.label for operation in operations}


@pytest.mark.parametrize("kind", KINDS)
def test_linked_operations_survive_stateful_fuzzing(target: FuzzTarget, kind: str) -> None:
    assert target.run_scenarios(kind) > 0
    # Links were followed: an order-scoped operation answered with success at least once.
    followed = {
        label
        for (label, status), _ in target.statuses.items()
        if "{orderId}" in label and status < 300
    }
    assert followed or fuzz_examples() < FEW, sorted(target.statuses.items())
