"""A learner's name on a class server, carried in the EHLO name: ``EHLO an.learner.lab``. Pure: text in, text out.

A class server knows who a session belongs to by the name its client gives in
EHLO or HELO: ``EHLO NAME.learner.lab`` is the learner NAME. This module
holds how a name becomes that host name and back:

* the name is kept **as typed**: ``An`` and ``an`` are two learners, never
  folded into one;
* a name may have several words and any letters, Vietnamese ones included:
  each word becomes one label (``Nguyễn Thị Trần`` →
  ``xn--Nguyn-s71b.xn--Th-18s.xn--Trn-ihz.learner.lab``), a word with letters
  outside ASCII in its IDNA ASCII form (``xn--`` and Punycode, RFC 3492,
  whose mixed-case annotation keeps the capitals), which decodes back to the
  very name typed;
* a lab adds its **mark**, one more label just before ``.learner.lab``: an
  underscore and hex digits (``an._3f9a2b.learner.lab``), the same for every
  lab of one learner's account. Two people who pick one name carry two marks,
  so a class server and its dashboard see two learners where a bare name
  would see one. swaks, curl or a hand-typed EHLO name the learner without a
  mark.

:func:`learner_identity` reads the name and mark back from an EHLO name;
:func:`learner_host` makes one; :func:`check_name` says what is wrong with a
name a learner gave; :func:`hub_learner` turns a JupyterHub user name into a
learner name (the same rule on the learner's side and on the server that
verifies it).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "LEARNER_SUFFIX",
    "MARK",
    "check_name",
    "hub_learner",
    "learner_host",
    "learner_identity",
    "learner_name",
    "suggest_name",
]

#: ``EHLO <name>.learner.lab`` names the learner ``<name>``.
LEARNER_SUFFIX = ".learner.lab"
#: A lab's mark: an underscore, then 6 to 16 hex digits (a name's word never starts with ``_``).
MARK = re.compile(r"_[0-9a-f]{6,16}\Z")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z")
_ACE = "xn--"
_HOST_MOST = 253
_WORD_EXTRA = "-_"


def _word_ok(word: str) -> bool:
    """Letters (any script, with their accents), digits, ``-`` and ``_``; a letter or digit first."""
    if not word or not word[0].isalnum():
        return False
    return all(c.isalnum() or c in _WORD_EXTRA or unicodedata.category(c).startswith("M") for c in word)


def _label(word: str) -> str:
    """One word of a name as one host-name label: as it is when ASCII, else ``xn--`` and its Punycode."""
    if word.isascii():
        return word
    return _ACE + word.encode("punycode").decode("ascii")


def _word(label: str) -> str | None:
    """A label back as the word it encodes, or None when it encodes none (or not the canonical way)."""
    if not _LABEL.match(label):
        return None
    if label[:4].lower() != _ACE:
        return label if _word_ok(label) else None
    try:
        word = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError, IndexError):
        return None
    word = unicodedata.normalize("NFC", word)
    if word.isascii() or not _word_ok(word) or _label(word) != label:
        return None  # one name, one spelling: a label that is not how the name encodes does not name it
    return word


def check_name(name: object) -> str | None:
    """What is wrong with ``name`` as a learner's name, or None when it is fine.

    A name is one or more words separated by single spaces; a word is letters
    (any script), digits, ``-`` and ``_``, beginning with a letter or a digit;
    its EHLO name must fit a host name (63 octets a word, 253 in all).
    """
    if not isinstance(name, str):
        return f"a name is text, not {type(name).__name__}"
    if not name or name != name.strip() or "  " in name:
        return "a name has no space at either end and single spaces between its words"
    if name != unicodedata.normalize("NFC", name):
        return "a name is written in composed form (NFC)"
    for word in name.split(" "):
        if not _word_ok(word):
            return f"the word {word!r} has a character other than a letter, a digit, - or _ (or begins with - or _)"
        if len(_label(word)) > 63:
            return f"the word {word!r} is too long for a host name (63 octets once encoded)"
    if len(learner_host(name, "_" + "0" * 16)) > _HOST_MOST:
        return "the name is too long for a host name (253 octets once encoded)"
    return None


def suggest_name(name: str) -> str:
    """A name close to ``name`` that :func:`check_name` takes: spaces tidied, other characters made ``-``."""
    text = unicodedata.normalize("NFC", name)
    words = []
    for raw in text.split():
        word = "".join(c if _word_ok("a" + c) else "-" for c in raw).strip("-_")
        if word:
            words.append(word[:40])
    return " ".join(words[:6]) or "an"


def learner_host(name: str, mark: str | None = None) -> str:
    """The EHLO name that names ``name`` (with the lab's ``mark``, if any): ``an`` → ``an.learner.lab``.

    >>> learner_host("Nguyễn Thị Trần")
    'xn--Nguyn-s71b.xn--Th-18s.xn--Trn-ihz.learner.lab'
    """
    labels = [_label(word) for word in name.split(" ")]
    if mark is not None:
        labels.append(mark)
    return ".".join(labels) + LEARNER_SUFFIX


def learner_identity(helo: object) -> tuple[str, str | None] | None:
    """(name, mark) that an EHLO/HELO name gives, or None when it names no learner.

    >>> learner_identity("xn--Nguyn-s71b.xn--Th-18s.xn--Trn-ihz._3f9a2b.learner.lab")
    ('Nguyễn Thị Trần', '_3f9a2b')
    >>> learner_identity("An.learner.lab")
    ('An', None)
    """
    if not isinstance(helo, str):
        return None
    host = helo.strip().rstrip(".")
    if len(host) > _HOST_MOST or not host.lower().endswith(LEARNER_SUFFIX):
        return None
    labels = host[: -len(LEARNER_SUFFIX)].split(".")
    mark = None
    if len(labels) > 1 and MARK.match(labels[-1]):
        mark = labels.pop()
    words = [_word(label) for label in labels]
    if not words or any(word is None for word in words):
        return None
    return " ".join(w for w in words if w is not None), mark


def learner_name(helo: object) -> str | None:
    """The learner an EHLO/HELO name identifies (``an.learner.lab`` → ``an``), or None; kept as typed."""
    found = learner_identity(helo)
    return None if found is None else found[0]


def hub_learner(user: str) -> str:
    """A JupyterHub user name as a learner's name: itself when it is one, else with each other character ``-``.

    Hub names may hold ``@`` or ``.`` (``an@school.example``); the learner's
    lab and the server that checks it with the hub both apply this rule.
    """
    if check_name(user) is None:
        return user
    made = re.sub(r"-+", "-", "".join(c if c.isalnum() or c in _WORD_EXTRA else "-" for c in user.strip()))
    return made.strip("-_")[:63] or "hub-user"
