"""Ready "predict the reply" quizzes, and the rules that grade a guess. Pure data and arithmetic.

A quiz is a list of steps. Each step is one line the lab sends (a command,
or the message after a 354), optionally preceded by policy changes, with a
short hint in English and Vietnamese. The learner predicts the reply code
before the step is sent to the live lab; :func:`grade` then compares the
guess with the real reply, following the course's lesson that two codes of
the same class can mean very different things (250 is not 252):

    guess                     the server sent   verdict   points
    ------------------------  ----------------  --------  ------
    the exact code (252)      252               right     1
    the class only (2, 2xx)   a 2xx code        partly    0.5
    another code (250)        252               wrong     0
    anything                  no reply          no-reply  0

A learner who is sure of the class but not of the code can say so ("2xx")
for half a point; a wrong code is wrong even when its first digit is right.

``expect`` is the code the step is written to produce on a lab with default
settings; it documents the quiz and lets the tests check it against a real
server. Grading always uses the reply the server actually sent.

>>> quiz("vrfy").steps[1].command
'VRFY alice'
>>> grade(250, 252).verdict
'wrong'
>>> grade(parse_guess("2xx"), 252).verdict
'partly'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from smtplab.core.catalogue import catalogue
from smtplab.core.values import value
from smtplab.errors import LabArgumentError, LabValueError, UnknownQuiz, suggest

__all__ = [
    "QUIZZES",
    "Grade",
    "Guess",
    "QuizData",
    "QuizStep",
    "Score",
    "UnknownQuiz",
    "as_quiz",
    "grade",
    "parse_guess",
    "quiz",
    "score",
]


@value
class QuizStep:
    """One step: apply ``policy`` to the lab, send ``command``, grade the learner's guess of the reply.

    ``hint`` maps a language to a short hint; ``expect`` is the code the step
    is written to produce (documentation and tests; grading uses the real reply).
    """

    command: str
    policy: Mapping[str, Any] = MappingProxyType({})
    hint: Mapping[str, str] = MappingProxyType({})
    expect: int | None = None

    def hint_in(self, lang: str) -> str:
        """The hint in ``lang``, else in English, else empty."""
        return self.hint.get(lang) or self.hint.get("en", "")


@value
class QuizData:
    """A named quiz: its title in each language and its steps."""

    name: str
    title: Mapping[str, str]
    steps: tuple[QuizStep, ...]

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("en", self.name)


@value
class Guess:
    """What the learner predicted: a whole code (``code`` set) or only its class (``code`` None, ``"2xx"``)."""

    digit: int
    code: int | None = None

    @property
    def shown(self) -> str:
        """``"252"`` or ``"2xx"``: the guess as the learner reads it back."""
        return str(self.code) if self.code is not None else f"{self.digit}xx"


@value
class Grade:
    """How a guess compares with the real reply: ``right``, ``partly``, ``wrong`` or ``no-reply``.

    ``guess`` is the guessed code, or the class digit of a class-only guess (see ``shown``).
    """

    verdict: str
    points: float
    guess: int
    code: int | None
    shown: str = ""

    @property
    def same_class(self) -> bool:
        """True when a wrong code has the right first digit: the 250-for-252 mistake the course warns of."""
        return (
            self.verdict == "wrong"
            and self.code is not None
            and self.guess >= 100
            and self.guess // 100 == self.code // 100
        )


@value
class Score:
    """A quiz's total: points out of the number of steps, and how many of each verdict."""

    points: float
    total: int
    right: int
    partly: int
    wrong: int

    @property
    def shown(self) -> str:
        """``"4.5"`` or ``"5"``: the points as a learner reads them."""
        return f"{self.points:g}"


def _step(command: str, expect: int, en: str, vi: str, **policy: Any) -> QuizStep:
    return QuizStep(command, MappingProxyType(policy), MappingProxyType({"en": en, "vi": vi}), expect)


_EHLO = "EHLO learner.example"
_MAIL = "MAIL FROM:<learner@lab.example>"

_VRFY = QuizData(
    "vrfy",
    MappingProxyType({"en": "VRFY under three policies", "vi": "VRFY với ba chính sách"}),
    (
        _step(
            _EHLO,
            250,
            "Every session starts with the client introducing itself. Does the server accept the introduction?",
            "Mọi phiên làm việc đều bắt đầu bằng việc máy khách tự giới thiệu. "
            "Máy chủ có chấp nhận lời giới thiệu đó không?",
            vrfy="cannot-verify",
        ),
        _step(
            "VRFY alice",
            252,
            "The lab's default VRFY policy is cannot-verify: the server will not say whether a user exists, "
            "yet it does not refuse the command either.",
            "Chính sách VRFY mặc định của môi trường thực hành là cannot-verify: máy chủ không cho biết người dùng "
            "có tồn tại hay không, nhưng cũng không từ chối lệnh.",
        ),
        _step(
            "VRFY alice",
            250,
            "Now the server confirms local users, and alice is one of them.",
            "Bây giờ máy chủ xác nhận người dùng cục bộ, và alice là một trong số đó.",
            vrfy="confirm",
        ),
        _step(
            "VRFY nobody",
            550,
            "Still confirming, but there is no user called nobody here. Is that a temporary or a permanent answer?",
            "Máy chủ vẫn xác nhận, nhưng ở đây không có người dùng nào tên nobody. Đó là câu trả lời tạm thời "
            "hay vĩnh viễn?",
        ),
        _step(
            "VRFY al",
            553,
            "Two users, alice and alan, start with al. The server cannot tell which one you mean.",
            "Có hai người dùng bắt đầu bằng al là alice và alan. Máy chủ không biết bạn muốn nói tới ai.",
        ),
        _step(
            "VRFY alice",
            502,
            "The administrator has switched VRFY off: the command exists, but this server does not carry it out.",
            "Quản trị viên đã tắt VRFY: lệnh này có tồn tại, nhưng máy chủ này không thực hiện nó.",
            vrfy="disabled",
        ),
    ),
)

_SESSION = QuizData(
    "session",
    MappingProxyType({"en": "A successful session", "vi": "Một phiên gửi thư thành công"}),
    (
        _step(
            _EHLO,
            250,
            "The client introduces itself; the answer lists the server's extensions.",
            "Máy khách tự giới thiệu; câu trả lời liệt kê các phần mở rộng của máy chủ.",
        ),
        _step(
            _MAIL, 250, "The sender's address opens a mail transaction.", "Địa chỉ người gửi mở ra một giao dịch thư."
        ),
        _step(
            "RCPT TO:<bob@lab.example>",
            250,
            "bob is a local user of lab.example.",
            "bob là người dùng cục bộ của lab.example.",
        ),
        _step(
            "DATA",
            354,
            "The server does not accept the message yet: it asks for it. Which class means “go on”?",
            "Máy chủ chưa nhận thư ngay: nó yêu cầu máy khách gửi nội dung thư. Lớp mã nào có nghĩa là “cứ tiếp tục”?",
        ),
        _step(
            "Subject: Quiz\n\nHello Bob, this message comes from the quiz.\n",
            250,
            "The final dot ends the message, and the lab stores it in its mailbox.",
            "Dấu chấm cuối cùng kết thúc thư, và môi trường thực hành lưu thư vào hộp thư của nó.",
        ),
        _step(
            "QUIT",
            221,
            "Saying goodbye: the server answers, then closes the connection.",
            "Chào tạm biệt: máy chủ trả lời rồi đóng kết nối.",
        ),
    ),
)

_FAILURES = QuizData(
    "failures",
    MappingProxyType({"en": "When mail fails: 4xx or 5xx?", "vi": "Khi thư bị từ chối: 4xx hay 5xx?"}),
    (
        _step(
            _EHLO,
            250,
            "A fresh start: the client introduces itself.",
            "Bắt đầu lại từ đầu: máy khách tự giới thiệu.",
            greylist_seconds=0,
            max_recipients=100,
            reject_content=[],
        ),
        _step(
            _MAIL,
            250,
            "The sender opens a transaction; nothing has gone wrong yet.",
            "Người gửi mở một giao dịch; chưa có gì sai cả.",
        ),
        _step(
            "RCPT TO:<bob@lab.example>",
            450,
            "Greylisting is on: the server turns a new sender and recipient pair away for a while. "
            "Should the client give up, or try again later?",
            "Greylisting đang bật: máy chủ tạm thời từ chối một cặp người gửi và người nhận mới. "
            "Máy khách nên bỏ cuộc hay thử lại sau?",
            greylist_seconds=3600,
        ),
        _step(
            "RCPT TO:<friend@elsewhere.example>",
            550,
            "The lab takes mail for lab.example only and never relays it elsewhere. Would asking again help?",
            "Phòng thí nghiệm chỉ nhận thư cho lab.example và không bao giờ chuyển tiếp thư đi nơi khác. "
            "Hỏi lại có giúp được gì không?",
            greylist_seconds=0,
        ),
        _step(
            "RCPT TO:<alice@lab.example>",
            250,
            "The server now takes one recipient per message, and none has been accepted yet.",
            "Giờ máy chủ chỉ nhận một người nhận cho mỗi thư, và chưa có ai được chấp nhận.",
            max_recipients=1,
        ),
        _step(
            "RCPT TO:<carol@lab.example>",
            452,
            "A second recipient goes over the limit. Is carol lost for good, or can she get the message "
            "in another transaction?",
            "Người nhận thứ hai vượt quá giới hạn. carol mất thư vĩnh viễn, hay cô ấy vẫn có thể nhận thư "
            "trong một giao dịch khác?",
        ),
        _step(
            "DATA",
            354,
            "One recipient was accepted, so the server is ready for the message.",
            "Đã có một người nhận được chấp nhận, nên máy chủ sẵn sàng nhận nội dung thư.",
        ),
        _step(
            "Subject: You won the lottery\n\nClaim your prize today.\n",
            554,
            "The server now refuses messages that mention a lottery. Sending the same message again "
            "would be refused again.",
            "Giờ máy chủ từ chối những thư nhắc tới xổ số (lottery). Gửi lại đúng thư đó thì vẫn sẽ bị từ chối.",
            reject_content=["lottery"],
        ),
    ),
)

#: The ready quizzes, by name.
QUIZZES: Mapping[str, QuizData] = MappingProxyType({q.name: q for q in (_VRFY, _SESSION, _FAILURES)})


def quiz(name: str, lang: str = "en") -> QuizData:
    """The ready quiz called ``name`` (``"vrfy"``, ``"session"``, ``"failures"``); :class:`UnknownQuiz` otherwise.

    ``lang`` is the language of the error's message.
    """
    if name in QUIZZES:
        return QUIZZES[name]
    ui = catalogue(lang).ui
    hint = suggest(name, QUIZZES, phrase=ui("policy_error.did_you_mean"))
    raise UnknownQuiz(ui("error.unknown_quiz", name=name, names=", ".join(QUIZZES), hint=hint))


def _as_step(item: QuizStep | str | Mapping[str, Any], number: int) -> QuizStep:
    if isinstance(item, QuizStep):
        return item
    if isinstance(item, str):
        return QuizStep(item)
    if isinstance(item, Mapping) and isinstance(item.get("command"), str):
        unknown = set(item) - {"command", "policy", "hint", "expect"}
        if not unknown:
            hint = item.get("hint", {})
            hint = {"en": hint} if isinstance(hint, str) else dict(hint)
            return QuizStep(
                item["command"],
                MappingProxyType(dict(item.get("policy", {}))),
                MappingProxyType(hint),
                item.get("expect"),
            )
    raise LabArgumentError(
        f"quiz step {number} is {item!r}: expected a command line such as 'VRFY alice', a QuizStep, "
        "or a dict with command and optionally policy, hint and expect"
    )


def as_quiz(steps: str | QuizData | Iterable[QuizStep | str | Mapping[str, Any]], lang: str = "en") -> QuizData:
    """A quiz from a ready quiz's name, a :class:`QuizData`, or steps (command lines, dicts, QuizSteps)."""
    if isinstance(steps, QuizData):
        return steps
    if isinstance(steps, str):
        return quiz(steps, lang)
    parsed = tuple(_as_step(item, number) for number, item in enumerate(steps, start=1))
    if not parsed:
        raise LabValueError("a quiz needs at least one step, such as 'VRFY alice'")
    return QuizData("custom", MappingProxyType({}), parsed)


_CLASS_GUESS = re.compile(r"([2-5])(?:xx)?", re.IGNORECASE)


def parse_guess(text: str | int, lang: str = "en") -> Guess:
    """The learner's guess: a code the catalogue knows (``"252"``), or a class alone (``"2"``, ``"2xx"``).

    :class:`~smtplab.errors.UnknownCode` for anything else; its message names the nearest codes.
    """
    raw = str(text).strip()
    whole = _CLASS_GUESS.fullmatch(raw)
    if whole:
        return Guess(int(whole[1]))
    code = catalogue(lang).basic(raw).code
    return Guess(code // 100, code)


def _as_guess(guess: Guess | int | str) -> Guess:
    if isinstance(guess, Guess):
        return guess
    if isinstance(guess, int):
        return Guess(guess // 100, guess)
    return parse_guess(guess)


def grade(guess: Guess | int | str, code: int | None) -> Grade:
    """Compare a guess with the code the server sent (None: no reply came); see the module's table."""
    guess = _as_guess(guess)
    value_ = guess.code if guess.code is not None else guess.digit
    if code is None:
        return Grade("no-reply", 0.0, value_, None, guess.shown)
    if guess.code == code:
        return Grade("right", 1.0, value_, code, guess.shown)
    if guess.code is None and guess.digit == code // 100:
        return Grade("partly", 0.5, value_, code, guess.shown)
    return Grade("wrong", 0.0, value_, code, guess.shown)


def score(grades: Iterable[Grade], total: int | None = None) -> Score:
    """Add up ``grades``; ``total`` is the number of steps (default: the number of grades)."""
    grades = list(grades)
    count = {v: sum(1 for g in grades if g.verdict == v) for v in ("right", "partly")}
    return Score(
        points=sum(g.points for g in grades),
        total=len(grades) if total is None else total,
        right=count["right"],
        partly=count["partly"],
        wrong=len(grades) - count["right"] - count["partly"],
    )
