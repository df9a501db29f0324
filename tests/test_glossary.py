"""One Vietnamese voice: every Vietnamese text uses the glossary's term, never a rejected variant.

The glossary (tests/data/glossary-vi.toml, explained in docs/glossary.md)
fixes one word per concept; this test reads every Vietnamese data file and
every notebook of the Vietnamese course (notebooks/vi: its text cells and the
code cells' comments and strings, outputs aside, which come from the data files).
"""

from __future__ import annotations

import io
import json
import tokenize
from pathlib import Path

import pytest
import tomllib

from smtplab import catalogue

ROOT = Path(__file__).parent.parent
GLOSSARY = tomllib.loads((Path(__file__).parent / "data" / "glossary-vi.toml").read_text(encoding="utf-8"))
VI_FILES = sorted((ROOT / "smtplab" / "data" / "vi").glob("*.toml"))
VI_NOTEBOOKS = sorted((ROOT / "notebooks" / "vi").glob("*.ipynb"))


def _strings(node: object, where: str):
    """Every string in a parsed TOML document, with where it sits."""
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for number, value in enumerate(node):
            yield from _strings(value, f"{where}[{number}]")


def _prose(cell: dict) -> str:
    """A notebook cell's words: a text cell whole, a code cell's comments and strings (its names are Python's)."""
    text = "".join(cell["source"])
    if cell["cell_type"] != "code" or text.startswith("%%"):  # a cell magic's body is not Python: all of it
        return text
    code = "\n".join("" if line.startswith("%") else line for line in text.splitlines())  # magics are not Python
    kinds = {tokenize.COMMENT, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return "\n".join(token.string for token in tokens if token.type in kinds)


def _vietnamese_texts() -> list[tuple[str, str]]:
    texts = []
    for path in VI_FILES:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        texts.extend((f"{path.name}: {where}", text) for where, text in _strings(data, ""))
    for path in VI_NOTEBOOKS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            texts.append((f"vi/{path.name}: cell {cell['id']}", _prose(cell)))
    return texts


TEXTS = _vietnamese_texts()


def test_the_glossary_covers_the_concepts_the_catalogue_needs():
    assert {
        "enhanced-status-code",
        "reply-text",
        "blocklist",
        "relay",
        "forward",
        "advertise",
        "mailbox",
        "recipient",
        "sender",
        "greylisting",
        "lab",
        "delivery",
        "submission-server",
        "implement",
        "directory-server",
    } <= set(GLOSSARY)
    assert GLOSSARY["relay"]["term"] != GLOSSARY["forward"]["term"]
    for concept, entry in GLOSSARY.items():
        assert entry["term"] and entry["rejected"], concept
        assert entry["term"] not in entry["rejected"], concept


@pytest.mark.parametrize("concept", sorted(GLOSSARY))
def test_no_vietnamese_text_uses_a_rejected_variant(concept):
    entry = GLOSSARY[concept]
    found = []
    for where, text in TEXTS:
        haystack = text if entry.get("case_sensitive") else text.lower()
        for variant in entry["rejected"]:
            needle = variant if entry.get("case_sensitive") else variant.lower()
            if needle in haystack:
                found.append(f"{where}: {variant!r} (use {entry['term']!r})")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("concept", sorted(GLOSSARY))
def test_the_chosen_term_is_the_one_in_use(concept):
    term = GLOSSARY[concept]["term"].lower()
    assert any(term in text.lower() for _, text in TEXTS), concept


def test_the_3xx_class_is_not_called_temporary_and_the_lab_is_not_a_laboratory():
    vi = catalogue("vi")
    assert "tạm thời" not in vi.reply_class_name(3).lower()
    assert "tạm thời" in vi.reply_class_name(4).lower()
    assert "phòng thí nghiệm" not in vi.ui("state.message_next").lower()


def test_the_check_reads_every_vietnamese_data_file_and_notebook():
    assert {p.name for p in VI_FILES} >= {"basic.toml", "enhanced.toml", "pairs.toml", "ui.toml"}
    assert len(VI_NOTEBOOKS) >= 9 and any(where.startswith("vi/00-bat-dau.ipynb") for where, _ in TEXTS)
    assert len(TEXTS) > 500
