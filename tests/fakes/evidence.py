"""An in-memory EvidenceStore (application.ports), for application tests: keeps each
evidence once per digest, as the evidence table does (infrastructure.evidence)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from application.ports import Evidence


@dataclass
class KeptEvidence:
    by_digest: dict[str, Evidence] = field(default_factory=dict)

    def keep(self, evidence: Evidence) -> None:
        self.by_digest.setdefault(evidence.digest, evidence)

    def call(self, digest: str | None) -> dict[str, Any]:
        """A kept provider call, as the JSON it was stored as."""
        assert digest is not None, "the event names no evidence"
        record: dict[str, Any] = json.loads(self.by_digest[digest].body)
        return record
