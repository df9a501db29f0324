"""The course in Vietnamese: every notebook has a twin in notebooks/vi, and a Vietnamese learner meets no English.

Each notebook of ``notebooks/vi`` is a translation of an English one: the
prose is free, but its exercises, self-checks and widgets are the English
notebook's, cell for cell, so a learner of either language does the same
course and the answer key holds for both. Its labs speak Vietnamese
(``lang="vi"``), and so do the errors a learner can meet on the way.
"""

from __future__ import annotations

import copy
import json
import re
import socket
from pathlib import Path

import pytest
from targets import ServeTarget

from smtplab import Lab
from smtplab.errors import ClassServerUnreachable, LabArgumentError, LabClosed, RemoteLabError
from smtplab.notebook.widgets import __all__ as WIDGET_NAMES

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

#: Each Vietnamese notebook and its English twin.
TWINS = {
    "vi/00-bat-dau.ipynb": "00-start-here.ipynb",
    "vi/01-cau-tao-cua-phan-hoi.ipynb": "01-anatomy-of-a-reply.ipynb",
    "vi/02-mot-phien-thanh-cong.ipynb": "02-a-successful-session.ipynb",
    "vi/03-vrfy-va-252.ipynb": "03-vrfy-and-252.ipynb",
    "vi/04-250-va-252.ipynb": "04-250-vs-252.ipynb",
    "vi/05-khi-thu-that-bai.ipynb": "05-when-mail-fails.ipynb",
    "vi/06-ma-trang-thai-mo-rong.ipynb": "06-enhanced-status-codes.ipynb",
    "vi/07-thu-thach-workshop.ipynb": "07-workshop-challenges.ipynb",
    "vi/huong-dan-giang-vien.ipynb": "instructor-guide.ipynb",
}

WIDGETS = [name for name in WIDGET_NAMES if name[0].isupper() and not name.isupper()]
_WIDGET_CALL = re.compile(r"\b(" + "|".join(WIDGETS) + r")\(")
#: A self-check: ``check("03-vrfy-modes", ...)`` or ``with self_check(...)``; group 2 is the exercise id, if any.
_CHECK_CALL = re.compile(r"\b(check|self_check)\(\s*(?:\"([^\"]*)\"|'([^']*)')?")


def cells(name: str) -> list[dict]:
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def shape(notebook_cells: list[dict]) -> list[tuple]:
    """What must be the same in both languages, one entry per code cell, in order: its tags (less the test
    suite's nbval ones), whether it is an exercise with a starter, the widgets it makes and the checks it runs."""
    out = []
    for cell in notebook_cells:
        if cell["cell_type"] != "code":
            continue
        text = source(cell)
        tags = tuple(t for t in cell.get("metadata", {}).get("tags", []) if not t.startswith("nbval"))
        starter = "starter" in cell.get("metadata", {}).get("smtplab", {})
        widgets = tuple(_WIDGET_CALL.findall(text))
        checks = tuple((m[1], m[2] or m[3] or "") for m in _CHECK_CALL.finditer(text))
        out.append((tags, starter, widgets, checks))
    return out


def differences(english: list[dict], vietnamese: list[dict]) -> list[str]:
    """How the Vietnamese cells' shape differs from the English one's, as sentences (empty: the same)."""
    en, vi = shape(english), shape(vietnamese)
    found = [
        f"code cell {i + 1}: English {a}, Vietnamese {b}"
        for i, (a, b) in enumerate(zip(en, vi, strict=False))
        if a != b
    ]
    if len(en) != len(vi):
        found.append(f"{len(en)} code cells in English, {len(vi)} in Vietnamese")
    return found


def test_every_notebook_of_the_course_has_a_vietnamese_twin():
    english = {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    vietnamese = {f"vi/{p.name}" for p in (NOTEBOOKS / "vi").glob("*.ipynb")}
    assert set(TWINS.values()) == english
    assert set(TWINS) == vietnamese


@pytest.mark.parametrize(("vi", "en"), sorted(TWINS.items()))
def test_a_vietnamese_notebook_has_the_exercises_checks_and_widgets_of_its_twin(vi, en):
    english, vietnamese = cells(en), cells(vi)
    assert differences(english, vietnamese) == []
    assert any(checks for *_, checks in shape(vietnamese))  # the comparison sees the checks at all


@pytest.mark.parametrize("missing", ["self-check", "widget", "exercise", "check id"])
def test_the_comparison_fails_when_the_translation_lacks_a_part(missing):
    english = cells("04-250-vs-252.ipynb")
    vietnamese = copy.deepcopy(cells("vi/04-250-va-252.ipynb"))
    code = [c for c in vietnamese if c["cell_type"] == "code"]
    if missing == "self-check":
        vietnamese.remove(next(c for c in code if "self-check" in c["metadata"].get("tags", [])))
    elif missing == "widget":
        cell = next(c for c in code if "Quiz(" in source(c))
        cell["source"] = ["print('no quiz here')\n"]
    elif missing == "exercise":
        next(c for c in code if "solution" in c["metadata"].get("tags", []))["metadata"] = {}
    else:  # a check that runs another exercise's check (or none of the course's)
        cell = next(c for c in code if _CHECK_CALL.search(source(c)))
        cell["source"] = [_CHECK_CALL.sub(lambda m: f'{m[1]}("another-exercise", ', source(cell), count=1)]
    assert differences(english, vietnamese)


@pytest.mark.parametrize("vi", sorted(TWINS))
def test_a_vietnamese_notebook_explains_in_vietnamese(vi):
    """Every lab, look-up, widget and %%smtp cell of a Vietnamese notebook is asked for Vietnamese."""
    untranslated = []
    for cell in cells(vi):
        if cell["cell_type"] != "code":
            continue
        for line in source(cell).splitlines():
            code = line.split("#", 1)[0]
            calls = re.findall(
                r"\b(Lab|explain|compare|ReplyExplainer|CodeComparer|Quiz)\(([^()]*(?:\([^()]*\))?)", code
            )
            untranslated += [line for name, args in calls if 'lang="vi"' not in args and args.strip() != ""]
            untranslated += [line for name, args in calls if name == "Lab" and args.strip() == ""]
            if code.startswith("%%smtp") and "--lang vi" not in code:
                untranslated.append(line)
    assert untranslated == []


def test_the_english_start_says_where_the_vietnamese_course_is_and_the_vietnamese_start_lists_it():
    english = " ".join(source(c) for c in cells("00-start-here.ipynb") if c["cell_type"] == "markdown")
    assert "(vi/00-bat-dau.ipynb)" in english
    vietnamese = " ".join(source(c) for c in cells("vi/00-bat-dau.ipynb") if c["cell_type"] == "markdown")
    for name in TWINS:
        if name != "vi/00-bat-dau.ipynb" and "huong-dan" not in name:
            assert f"({name.removeprefix('vi/')})" in vietnamese, name


# -- the errors a Vietnamese learner meets ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    target = ServeTarget(tmp_path_factory.mktemp("class"))
    yield target
    target.close()


def test_a_closed_vietnamese_lab_says_so_in_vietnamese():
    lab = Lab(lang="vi")
    lab.close()
    with pytest.raises(LabClosed, match=r"môi trường thực hành này đã đóng; .*Lab\(lang=\"vi\"\)"):
        lab.send("NOOP")


def test_the_class_servers_policy_and_mailbox_are_refused_in_vietnamese(served):
    with Lab(lang="vi", server=f"127.0.0.1:{served.port}", learner="lan") as lab:
        with pytest.raises(RemoteLabError, match=r"lab.policy không dùng được trên máy chủ của lớp .*giáo viên"):
            lab.policy.vrfy = "confirm"
        with pytest.raises(RemoteLabError, match="lưu trên máy của giáo viên"):
            len(lab.mailbox)
        assert lab.vrfy("alice").code == 252  # the lab still works after both


def test_an_unreachable_class_server_is_explained_in_vietnamese():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ClassServerUnreachable, match=rf"không kết nối được tới máy chủ của lớp 127.0.0.1:{port}"):
        Lab(lang="vi", server=f"127.0.0.1:{port}", learner="lan")


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"server": "127.0.0.1", "learner": "an"}, "thiếu cổng"),
        ({"server": "127.0.0.1:2525", "learner": 7}, "cần learner='tên bạn'"),
        ({"learner": "an"}, "hãy đưa cả địa chỉ máy chủ"),
        ({"server": "127.0.0.1:2525", "learner": "Bình.An"}, "hãy thử learner='Bình-An'"),  # accents are kept
        ({"server": "127.0.0.1:2525", "learner": "Đức  Anh"}, "hãy thử learner='Đức Anh'"),
    ],
)
def test_class_server_arguments_are_explained_in_vietnamese(kwargs, says):
    with pytest.raises(LabArgumentError, match=re.escape(says)):
        Lab(lang="vi", **kwargs)


def test_a_vietnamese_labs_policy_shows_an_empty_setting_in_vietnamese():
    with Lab(lang="vi") as lab:
        shown = str(lab.policy)
    assert "(không có)" in shown and "(none)" not in shown


def test_a_mistyped_lab_keyword_or_quiz_name_is_explained_in_vietnamese():
    from smtplab.errors import UnknownQuiz
    from smtplab.notebook.widgets import Quiz

    with pytest.raises(LabArgumentError, match=r"Lab\(\) không nhận từ khóa 'vrfyy'; có phải ý bạn là 'vrfy'\?"):
        Lab(lang="vi", vrfyy="confirm")
    with pytest.raises(UnknownQuiz, match=r"không có bài đố nào tên 'vrfyy'.*có phải ý bạn là 'vrfy'\?"):
        Quiz("vrfyy", lang="vi")
