"""Soak: clients keep sending while `smtplab serve` is stopped with SIGTERM; no message is lost or doubled.

Four smtplib clients send up to 50 messages each (several per connection,
some of them large enough to be mid-transfer when the signal comes), each
with its own Message-ID. The test records which messages got a 250 after
DATA. Part-way through, the server gets SIGTERM. Afterwards the Maildir,
read with the standard library's :mod:`mailbox`, holds every message that
got a 250 exactly once and none that did not; the server exits 0 and its
own count agrees.
"""

from __future__ import annotations

import collections
import mailbox
import re
import smtplib
import threading
import time
from pathlib import Path

import pytest
from targets import ServeTarget, wait_until

pytestmark = pytest.mark.timeout(120)

CLIENTS = 4
MESSAGES = 50  # per client, at most
PER_CONNECTION = 5
SIGNAL_AFTER = 60  # messages acknowledged with 250 before SIGTERM


class Ledger:
    """What each client was told: message ids that got 250, and those that did not."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.acknowledged: list[str] = []
        self.not_acknowledged: list[str] = []
        self.errors: list[str] = []

    def record(self, message_id: str, ok: bool, error: str = "") -> None:
        with self.lock:
            (self.acknowledged if ok else self.not_acknowledged).append(message_id)
            if error:
                self.errors.append(error)
            self.lock.notify_all()


def message(client: int, number: int) -> tuple[str, str]:
    message_id = f"<soak-c{client}-m{number}@school.example>"
    body = "line of a larger message\r\n" * (2000 if number % 7 == 3 else 3)  # ~50 KB now and then
    text = (
        f"From: client{client}@school.example\r\nTo: alice@lab.example\r\n"
        f"Subject: soak client {client} message {number}\r\nMessage-ID: {message_id}\r\n\r\n{body}"
    )
    return message_id, text


def send_all(port: int, client: int, ledger: Ledger) -> None:
    """Send up to MESSAGES messages, reconnecting every PER_CONNECTION; stop once the server is gone."""
    smtp: smtplib.SMTP | None = None
    try:
        for number in range(MESSAGES):
            message_id, text = message(client, number)
            if smtp is None:
                try:
                    smtp = smtplib.SMTP("127.0.0.1", port, timeout=20)
                except (OSError, smtplib.SMTPException) as exc:  # refused: the server has stopped listening
                    ledger.record(message_id, False, f"connect: {exc!r}")
                    return
            try:
                refused = smtp.sendmail(f"client{client}@school.example", ["alice@lab.example"], text)
                ledger.record(message_id, refused == {})
            except (OSError, smtplib.SMTPException) as exc:  # 421, or the connection closed: no 250
                ledger.record(message_id, False, f"{message_id}: {exc!r}")
                smtp.close()
                smtp = None
                continue
            if number % PER_CONNECTION == PER_CONNECTION - 1:
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    smtp.close()
                smtp = None
    finally:
        if smtp is not None:
            smtp.close()


def stored_ids(maildir: Path) -> list[str]:
    box = mailbox.Maildir(maildir, factory=None, create=False)
    return [str(m["Message-ID"]) for m in box]


def test_every_message_that_got_250_is_stored_exactly_once_and_no_other(tmp_path):
    served = ServeTarget(tmp_path, "--grace", "10")
    try:
        ledger = Ledger()
        clients = [
            threading.Thread(target=send_all, args=(served.port, n, ledger), daemon=True) for n in range(CLIENTS)
        ]
        begun = time.monotonic()
        for thread in clients:
            thread.start()
        with ledger.lock:
            assert ledger.lock.wait_for(lambda: len(ledger.acknowledged) >= SIGNAL_AFTER, timeout=60), (
                f"only {len(ledger.acknowledged)} messages acknowledged; errors: {ledger.errors[:3]}"
            )
        status = served.stop()  # SIGTERM, then wait for the exit
        for thread in clients:
            thread.join(30)
        assert not any(thread.is_alive() for thread in clients)
        took = time.monotonic() - begun
    finally:
        served.close()

    assert status == 0
    acknowledged, refused = set(ledger.acknowledged), set(ledger.not_acknowledged)
    assert len(acknowledged) == len(ledger.acknowledged) and not acknowledged & refused
    assert SIGNAL_AFTER <= len(acknowledged) < CLIENTS * MESSAGES  # the signal came part-way
    assert refused, "every client should have met the stopped server"

    stored = stored_ids(served.maildir)
    doubled = [mid for mid, count in collections.Counter(stored).items() if count > 1]
    assert doubled == []
    assert set(stored) - acknowledged == set(), "stored without a 250"
    assert acknowledged - set(stored) == set(), "a 250 but not stored"
    assert served.tmp() == []

    # The server's own accounts agree: its session log and its last status line.
    logged = sum(int(m[1]) for m in map(re.compile(r".* stored=(\d+)").match, served.out) if m)
    assert logged == len(stored)
    assert re.search(rf"stopped after \d+ session\(s\); {len(stored)} message\(s\) stored", served.err[-1])
    assert served.problems() == []
    assert took < 90


def test_the_soak_client_records_a_refused_message_as_not_acknowledged(tmp_path):
    """The soak's client on its own: only a 250 after DATA counts (here, over --max-size: 552 at MAIL)."""
    served = ServeTarget(tmp_path, "--max-size", "2000")
    try:
        ledger = Ledger()
        send_all(served.port, 9, ledger)  # the large messages (~50 KB) get 552, the others 250
        wait_until(lambda: served.stored() == len(ledger.acknowledged), "every acknowledged message on disk")
        assert served.stop() == 0
    finally:
        served.close()
    large = {message(9, n)[0] for n in range(MESSAGES) if n % 7 == 3}
    assert set(ledger.not_acknowledged) == large
    assert set(stored_ids(served.maildir)) == set(ledger.acknowledged) and not large & set(ledger.acknowledged)
