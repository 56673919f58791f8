"""Schemathesis against the live API: the document it fuzzes, the checks every response must
pass, and the bounds (examples, seed) that keep a run reproducible and short.

`CHECKOUT_FUZZ_EXAMPLES` sets the examples per operation and generation mode, and the
stateful scenarios per token kind; `CHECKOUT_FUZZ_SEED` the Hypothesis seed. `make chaos`
raises the first.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import strategies as st
from schemathesis import APIOperation, CheckContext, GenerationMode, HookContext, Response
from schemathesis.checks import CheckFunction
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case as AnyCase
from schemathesis.generation.stateful.state_machine import APIStateMachine
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.e2e.conftest import RunningApi

Case = AnyCase[Any]
Operation = APIOperation[Any, Any, Any, Any]

DEFAULT_EXAMPLES = 20  # the whole file in about a minute on two cores
DEFAULT_SEED = 20_240_601
STATEFUL_STEPS = 6
# A scenario run that Hypothesis cannot replay (the live API changed under it) ends early;
# the rest of the scenarios run under the next seed, this many times at most.
STATEFUL_ROUNDS = 5

# Token kinds the fuzzer calls with: a customer (no role), an operator, a read-only auditor.
TOKEN_ROLES: dict[str, tuple[str, ...]] = {
    "customer": (),
    "admin": ("admin",),
    "auditor": ("auditor",),
}
CUSTOMER = "cust-fuzz"

GENEROUS_LIMITS = {
    "RATE_LIMIT_PER_CUSTOMER": "100000/minute",
    "RATE_LIMIT_PER_IP": "100000/minute",
    "RATE_LIMIT_READS_PER_IP": "100000/minute",
}


def fuzz_examples() -> int:
    return int(os.environ.get("CHECKOUT_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))


def fuzz_seed() -> int:
    return int(os.environ.get("CHECKOUT_FUZZ_SEED", DEFAULT_SEED))


def server_errors_are_documented(ctx: CheckContext, response: Response, case: Case) -> None:
    """No 500 ever; any other 5xx (a busy database, a provider down) is in the document.

    Schemathesis's `not_a_server_error` would also fail the documented 503s."""
    status = response.status_code
    if status < 500:
        return
    documented = case.operation.responses.status_codes
    assert status != 500, f"{case.operation.label} answered 500: {response.text[:500]}"
    assert str(status) in documented, (
        f"{case.operation.label} answered {status}; documented: {', '.join(documented)}"
    )


CHECKS: list[CheckFunction] = [
    server_errors_are_documented,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _carts_of(skus: list[str]) -> Callable[[HookContext, Any], st.SearchStrategy[Any]]:
    """Checkout bodies that also buy what is for sale: random skus alone are all 422, and
    only a placed order leads the stateful scenarios on to read, pay, cancel and refund."""
    carts = st.lists(
        st.fixed_dictionaries({"sku": st.sampled_from(skus), "quantity": st.integers(1, 3)}),
        min_size=1,
        max_size=3,
    )

    def flatmap_body(context: HookContext, body: Any) -> st.SearchStrategy[Any]:
        operation = context.operation
        if operation is None or operation.label != "POST /checkout":
            return st.just(body)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            return st.just(body)
        return st.one_of(st.just(body), carts.map(lambda items: {**body, "items": items}))

    return flatmap_body


def _settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        # Each example is a live HTTP request: the failing case is reported, not shrunk.
        phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate),
        suppress_health_check=list(hypothesis.HealthCheck),
        stateful_step_count=STATEFUL_STEPS,
    )


@dataclass
class FuzzTarget:
    """The running API, its own /openapi.json, and a bearer token per token kind."""

    api: RunningApi
    schema: OpenApiSchema
    # (operation label, status) -> responses: what the run reached.
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    scenarios: int = 0  # stateful scenarios run

    @classmethod
    def of(cls, api: RunningApi) -> FuzzTarget:
        document = api.client.get("/openapi.json").raise_for_status().json()
        schema = schemathesis.openapi.from_dict(document)
        products = api.client.get("/products").raise_for_status().json()["items"]
        schema.hook("flatmap_body")(_carts_of([product["sku"] for product in products]))
        return cls(api, schema)

    def headers(self, kind: str) -> dict[str, str]:
        subject = CUSTOMER if kind == "customer" else f"fuzz-{kind}"
        return self.api.auth(subject, TOKEN_ROLES[kind])

    def operations(self) -> Iterator[Operation]:
        for result in self.schema.get_all_operations():
            assert isinstance(result, Ok), result
            yield result.ok()

    def fuzz(self, operation: Operation, kind: str, mode: GenerationMode) -> str:
        """One operation with one token kind; the failure report, or "" when none."""
        strategy = operation.as_strategy(mode, headers=self.headers(kind))

        @hypothesis.seed(fuzz_seed())
        @_settings(fuzz_examples())
        @hypothesis.given(case=strategy)
        def run(case: Case) -> None:
            response = case.call(base_url=self.api.base_url, timeout=30)
            self.statuses[case.operation.label, response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            # Nothing to make invalid: an operation without parameters or body.
            if mode is GenerationMode.POSITIVE:
                raise
        except (FailureGroup, AssertionError, hypothesis.errors.FlakyFailure) as exc:
            return f"{operation.label} as {kind} ({mode.value}):\n{exc!r}\n{exc}"
        return ""

    def run_scenarios(self, kind: str) -> int:
        """Scenarios that follow the document's links (checkout, then read, pay, cancel,
        refund), every call with the token kind's token; the number of scenarios run."""
        machine = self._state_machine(kind)
        wanted = fuzz_examples()
        for round_ in range(STATEFUL_ROUNDS):
            left = wanted - self.scenarios
            if left <= 0:
                break
            hypothesis.seed(fuzz_seed() + round_)(machine)
            try:
                machine.run(settings=_settings(left))
            except hypothesis.errors.FlakyStrategyDefinition:
                # The views, stock and idempotency keys moved on since the first run of this
                # prefix, so a rule it could take is gone: no failure, only a replay that can't be.
                continue
            break
        return self.scenarios

    def _state_machine(self, kind: str) -> type[APIStateMachine]:
        headers = self.headers(kind)
        base_url = self.api.base_url
        target = self
        # Valid requests only, so scenarios go deep: the stateless runs send the invalid ones.
        self.schema.config.generation.update(modes=[GenerationMode.POSITIVE])

        class Machine(self.schema.as_state_machine()):  # type: ignore[misc]
            def get_call_kwargs(self, case: Case) -> dict[str, Any]:
                return {"base_url": base_url, "headers": headers, "timeout": 30}

            def validate_response(
                self,
                response: Response,
                case: Case,
                additional_checks: list[CheckFunction] | None = None,
                **kwargs: Any,
            ) -> None:
                target.statuses[case.operation.label, response.status_code] += 1
                case.validate_response(
                    response, checks=CHECKS, transport_kwargs=kwargs, recorder=self.recorder
                )

            def teardown(self) -> None:
                target.scenarios += 1
                super().teardown()

        return Machine
