"""A learner's name in the EHLO name and back (smtplab.core.learners), and who the learner is by default."""

from __future__ import annotations

import getpass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtplab.core.learners import check_name, hub_learner, learner_host, learner_identity, suggest_name
from smtplab.lab.class_server import default_learner, hub_proof, lab_mark

# Words of letters from the scripts a class uses (Latin with Vietnamese accents, Greek, Cyrillic), digits, - and _.
_LETTERS = st.sampled_from("aAbBzZ09ễịầđĐƯươắẮàÀñçßøΩωжЖ")
_WORD = st.builds(lambda first, rest: first + rest, _LETTERS, st.text(_LETTERS | st.sampled_from("-_"), max_size=12))


@given(st.lists(_WORD, min_size=1, max_size=4), st.none() | st.sampled_from(["_0a1b2c3d", "_ffffffff"]))
def test_every_name_survives_the_ehlo_name_as_typed(words, mark):
    name = " ".join(words)
    if check_name(name) is not None:  # a word that NFC composes differently: not a name as typed
        return
    host = learner_host(name, mark)
    assert host.isascii() and " " not in host and host.endswith(".learner.lab")
    assert learner_identity(host) == (name, mark)


@pytest.mark.parametrize(
    ("name", "host"),
    [
        ("an", "an.learner.lab"),
        ("An", "An.learner.lab"),
        ("Nguyễn Thị Trần", "xn--Nguyn-s71b.xn--Th-18s.xn--Trn-ihz.learner.lab"),
        ("bi_2", "bi_2.learner.lab"),
    ],
)
def test_names_become_host_names_that_read_back(name, host):
    assert learner_host(name) == host
    assert learner_identity(host) == (name, None)
    assert learner_identity(host.upper() if name.isascii() else host) == (
        (name.upper(), None) if name.isascii() else (name, None)
    )


def test_names_differing_only_in_case_are_two_learners():
    assert learner_identity("An.learner.lab") != learner_identity("an.learner.lab")
    assert learner_identity(learner_host("Trần")) != learner_identity(learner_host("trần"))


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("", "no space at either end"),
        (" an", "no space at either end"),
        ("an  binh", "single spaces"),
        ("an.b", "character other than"),
        ("-an", "begins with - or _"),
        ("_an", "begins with - or _"),
        ("an<script>", "character other than"),
        ("a" * 64, "too long for a host name"),
        ("Nguye\u0302\u0303n", "composed form"),
        (7, "text, not int"),
    ],
)
def test_a_name_that_cannot_be_carried_says_why(name, wrong):
    assert wrong in check_name(name)


def test_suggestions_keep_vietnamese_letters():
    assert suggest_name("Nguyễn  Thị.Trần ") == "Nguyễn Thị-Trần"
    assert suggest_name("an.b") == "an-b"
    assert check_name(suggest_name("<<>>")) is None


@pytest.mark.parametrize(
    ("helo", "found"),
    [
        ("an._0a1b2c3d.learner.lab", ("an", "_0a1b2c3d")),
        ("_0a1b2c3d.learner.lab", None),  # a mark alone names nobody
        ("an._0A1B2C3D.learner.lab", None),  # a mark is lower-case hex; "_0A1B…" is no word either
        ("xn--an-.learner.lab", None),  # "an" is written "an", not in Punycode
        ("xn--zzzzzzzzz.learner.lab", None),
        ("an.learner.lab.evil.example", None),
    ],
)
def test_marks_and_malformed_labels(helo, found):
    assert learner_identity(helo) == found


def test_hub_names_become_learner_names():
    assert hub_learner("an") == "an"
    assert hub_learner("Nguyễn") == "Nguyễn"
    assert hub_learner("an@school.example") == "an-school-example"
    assert check_name(hub_learner("@@")) is None


def test_the_default_learner_is_the_hub_user_then_the_login_name(monkeypatch):
    assert default_learner({"SMTPLAB_LEARNER": "cu", "JUPYTERHUB_USER": "an"}) == "cu"
    assert default_learner({"JUPYTERHUB_USER": "an"}) == "an"  # a Docker-stacks hub: everybody is jovyan
    assert default_learner({"JUPYTERHUB_USER": "an@school.example"}) == "an-school-example"
    monkeypatch.setattr(getpass, "getuser", lambda: "jupyter-binh")  # TLJH's account for the hub user binh
    assert default_learner({}) == "binh"
    monkeypatch.setattr(getpass, "getuser", lambda: "hoa")
    assert default_learner({}) == "hoa"


def test_the_mark_is_made_once_per_account(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    first = lab_mark(tmp_path / "home-a")
    assert first == lab_mark(tmp_path / "home-a") and first.startswith("_") and len(first) == 9
    assert (tmp_path / "home-a" / ".config" / "smtplab" / "learner-mark").read_text().strip() == first
    assert lab_mark(tmp_path / "home-b") != first  # another account, another mark


def test_the_hub_proof_is_sent_only_for_the_hub_users_own_name_on_a_server_that_asks():
    env = {"JUPYTERHUB_API_TOKEN": "s3cret", "JUPYTERHUB_USER": "an"}
    offered = ["lab.example Hello", "SIZE 1", "X-JUPYTERHUB", "HELP"]
    assert hub_proof("an", offered, env) == "AUTH X-JUPYTERHUB czNjcmV0"
    assert hub_proof("binh", offered, env) is None  # a name the hub user picked is not theirs to prove
    assert hub_proof("an", ["lab.example Hello", "HELP"], env) is None  # a server without --hub-api
    assert hub_proof("an", offered, {"JUPYTERHUB_USER": "an"}) is None  # no hub token
