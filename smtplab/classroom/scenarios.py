"""Classroom scenarios for ``smtplab serve``: named presets of lab policy settings.

A scenario is data: a name, the :class:`~smtplab.server.policy.Policy` settings it
changes from the defaults, and a one-line summary (English and Vietnamese)
of the replies a class will meet. ``smtplab serve --scenario strict`` starts
the shared server with ``Policy(**scenario("strict").settings)``; options
such as ``--vrfy`` and ``--user`` are applied on top.

========================  =====================================================
``default``               the lab's defaults: VRFY 252, local mail stored, relay 550
``confirm``               VRFY confirms: 250 / 251 / 550 / 553
``strict``                VRFY and EXPN 502, AUTH required (530, then 235)
``greylist``              first RCPT 450 4.7.1, a retry after 60 s 250
``busy``                  greeting 421 4.3.2, then the server hangs up
``relay-test``            other domains 550 5.7.1, moved users 551, null MX 556
``full``                  MAIL and RCPT 452 4.3.1
``small``                 SIZE 1024, larger messages 552 5.3.4
``content-filter``        messages with "lottery" or "winner" 554 5.7.1
``shutting-down``         greeting 220, the next command 421 4.3.2
``refuse``                greeting 554 5.7.1, then 503 to all but QUIT
``no-mail``               greeting 521 5.3.2 (RFC 7504)
========================  =====================================================

Pure: no I/O, and cheap to import (the command line builds its help from it).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from smtplab.errors import UnknownScenario, suggest

__all__ = ["SCENARIOS", "Scenario", "UnknownScenario", "scenario", "scenario_names"]


class Scenario:
    """One classroom preset: ``name``, ``settings`` (for ``Policy(**settings)``), ``summary[lang]``."""

    __slots__ = ("name", "settings", "summary")

    def __init__(self, name: str, settings: dict[str, Any], summary: dict[str, str]) -> None:
        self.name = name
        self.settings = MappingProxyType(settings)
        self.summary = MappingProxyType(summary)

    def describe(self, lang: str = "en") -> str:
        """The summary in ``lang`` (English when there is none in that language)."""
        return self.summary.get(lang) or self.summary["en"]

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, {dict(self.settings)!r})"


_ALL = (
    Scenario(
        "default",
        {},
        {
            "en": "the lab's defaults: VRFY 252, mail to alice, bob, carol, alan @lab.example stored (250), "
            "other domains refused (550 5.7.1)",
            "vi": "mặc định của lab: VRFY trả 252, thư cho alice, bob, carol, alan @lab.example được lưu (250), "
            "miền khác bị từ chối (550 5.7.1)",
        },
    ),
    Scenario(
        "confirm",
        {"vrfy": "confirm"},
        {
            "en": (
                "VRFY confirms: 250 for a user, 251 for dave (moved), 550 for an unknown name, 553 for 'al' (ambiguous)"
            ),
            "vi": "VRFY xác nhận: 250 cho người dùng có thật, 251 cho dave (đã chuyển), 550 cho tên lạ, "
            "553 cho 'al' (mơ hồ)",
        },
    ),
    Scenario(
        "strict",
        {"vrfy": "disabled", "expn": "disabled", "auth": "required"},
        {
            "en": "VRFY and EXPN disabled (502); MAIL, RCPT and DATA need AUTH first (530), "
            "AUTH PLAIN alice/wonderland gives 235",
            "vi": "VRFY và EXPN bị tắt (502); MAIL, RCPT và DATA cần AUTH trước (530), "
            "AUTH PLAIN alice/wonderland trả 235",
        },
    ),
    Scenario(
        "greylist",
        {"greylist_seconds": 60, "greylist_code": 450},
        {
            "en": "greylisting: the first RCPT of a new client/sender/recipient gets 450 4.7.1; "
            "the same retried after 60 s gets 250",
            "vi": "greylisting: RCPT đầu tiên của bộ máy khách/người gửi/người nhận mới nhận 450 4.7.1; "
            "thử lại sau 60 giây nhận 250",
        },
    ),
    Scenario(
        "busy",
        {"state": "busy"},
        {
            "en": "the server is busy: the greeting is 421 4.3.2 and the connection closes; try again later",
            "vi": "máy chủ đang bận: lời chào là 421 4.3.2 rồi đóng kết nối; hãy thử lại sau",
        },
    ),
    Scenario(
        "relay-test",
        {"vrfy": "confirm", "forwarding": "refuse", "null_mx": ["nomail.example"]},
        {
            "en": "relaying: RCPT for another domain 550 5.7.1, for dave (moved) 551 5.1.1, "
            "for nomail.example 556 5.1.10; local users 250",
            "vi": "trung chuyển: RCPT cho miền khác 550 5.7.1, cho dave (đã chuyển) 551 5.1.1, "
            "cho nomail.example 556 5.1.10; người dùng nội bộ 250",
        },
    ),
    Scenario(
        "full",
        {"storage_full": True},
        {
            "en": "the mailbox store is full: MAIL and RCPT get 452 4.3.1 (a temporary failure; retry later)",
            "vi": "kho thư đã đầy: MAIL và RCPT nhận 452 4.3.1 (lỗi tạm thời; thử lại sau)",
        },
    ),
    Scenario(
        "small",
        {"max_size": 1024},
        {
            "en": "EHLO advertises SIZE 1024: MAIL with a larger SIZE= or a larger message gets 552 5.3.4",
            "vi": "EHLO liệt kê SIZE 1024: MAIL với SIZE= lớn hơn hoặc thư lớn hơn nhận 552 5.3.4",
        },
    ),
    Scenario(
        "content-filter",
        {"reject_content": ["lottery", "winner"]},
        {
            "en": "a content filter: a message containing 'lottery' or 'winner' gets 554 5.7.1 after the final dot",
            "vi": "bộ lọc nội dung: thư chứa 'lottery' hoặc 'winner' nhận 554 5.7.1 sau dấu chấm cuối",
        },
    ),
    Scenario(
        "shutting-down",
        {"state": "shutting-down"},
        {
            "en": "the server is going down: the greeting is 220, the next command gets 421 4.3.2",
            "vi": "máy chủ sắp tắt: lời chào là 220, lệnh kế tiếp nhận 421 4.3.2",
        },
    ),
    Scenario(
        "refuse",
        {"state": "refuse"},
        {
            "en": "no service: the greeting is 554 5.7.1, then every command but QUIT gets 503 5.5.1",
            "vi": "không phục vụ: lời chào là 554 5.7.1, sau đó mọi lệnh trừ QUIT nhận 503 5.5.1",
        },
    ),
    Scenario(
        "no-mail",
        {"state": "no-mail"},
        {
            "en": "this host takes no mail at all: the greeting is 521 5.3.2 (RFC 7504), then the connection closes",
            "vi": "máy này không nhận thư: lời chào là 521 5.3.2 (RFC 7504), rồi đóng kết nối",
        },
    ),
)

#: Every scenario by name, in the order ``--help`` lists them.
SCENARIOS = MappingProxyType({s.name: s for s in _ALL})


def scenario_names() -> tuple[str, ...]:
    return tuple(SCENARIOS)


def scenario(name: str) -> Scenario:
    """The scenario called ``name``; :class:`UnknownScenario` names the valid ones and the nearest."""
    found = SCENARIOS.get(name) if isinstance(name, str) else None
    if found is not None:
        return found
    hint = suggest(name, SCENARIOS)
    raise UnknownScenario(f"unknown scenario {name!r}: expected one of {', '.join(SCENARIOS)}{hint}")
