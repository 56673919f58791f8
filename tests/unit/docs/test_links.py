"""The README and docs/ link only to files in the repository (a clone has nothing else)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
LINK = re.compile(r"\]\(([^)\s]+)\)|^\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_link_names_a_file_in_the_repository(document: Path) -> None:
    targets = [a or b for a, b in LINK.findall(document.read_text())]
    for target in targets:
        assert "://" not in target, f"{document.name} links outside the repository: {target}"
        path = (document.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(REPO), f"{target} is outside the repository"
        assert path.exists(), f"{document.name} links to {target}, which does not exist"
