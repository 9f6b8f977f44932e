from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
DATA = Path(__file__).resolve().parent / "data"
CORPORA = Path(os.environ.get("RASAD_CORPORA", ROOT.parent / "shared" / "corpora"))


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA} (set RASAD_CORPORA)")
    return CORPORA


@pytest.fixture
def write_rules(tmp_path):
    """Write {relative name: YAML text} under a fresh rules directory and return it."""

    def write(files: dict[str, str]) -> Path:
        rules = tmp_path / "rules"
        for name, text in files.items():
            path = rules / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return rules

    return write
