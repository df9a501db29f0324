"""Shared test helpers."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

REFERENCE = Path(__file__).parent / "data" / "smtp-codes.json"


@cache
def reference() -> dict:
    """The reference facts the catalogue is checked against (RFCs and the IANA registry)."""
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.fixture
def ref() -> dict:
    return reference()
