"""Importing the API loads no payment SDK and no adapter: those load where they are used.

Each import runs in a fresh interpreter, so what this process has imported already (the
other tests load the adapters) cannot hide a regression.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SDKS = ("stripe", "razorpay")
ADAPTERS = (
    "infrastructure.payments",
    "infrastructure.webhooks",
    "infrastructure.relay",
    "infrastructure.worker",
    "infrastructure.database",
    "entrypoints",
    "sandbox",
)


def _loaded_by(statement: str) -> set[str]:
    """Every module in sys.modules after ``statement``, run in a new interpreter."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    modules: list[str] = json.loads(result.stdout.splitlines()[-1])
    return set(modules)


def _within(modules: set[str], packages: tuple[str, ...]) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(f"{p}.") for p in packages)}


def test_importing_the_api_loads_no_payment_sdk_and_no_adapter() -> None:
    loaded = _loaded_by("import api.app")

    assert "api.routes.payments" in loaded
    assert "api.routes.webhooks" in loaded
    assert _within(loaded, SDKS) == set()
    assert _within(loaded, ADAPTERS) == set()


def test_the_payment_adapters_do_load_the_sdks() -> None:
    # The probe itself: the modules that use the SDKs are seen loading them.
    loaded = _loaded_by(
        "import infrastructure.payments.stripe.client, infrastructure.payments.razorpay.client"
    )

    assert set(SDKS) <= loaded
