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


@pytest.fixture(scope="session", autouse=True)
def _own_config_home(tmp_path_factory):
    """Each run keeps the lab's mark (smtplab.lab.class_server.lab_mark) in a folder of its own, not in ~/.config."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
        patch.delenv("JUPYTERHUB_USER", raising=False)
        patch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
        patch.delenv("SMTPLAB_LEARNER", raising=False)
        yield
