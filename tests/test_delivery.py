"""The delivery writer: messages stored from one thread, in batches, each session answered on its loop."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from smtplab.server.delivery import DeliveryWriter
from smtplab.server.mailbox import LabMailbox

MESSAGE = b"Subject: hello\r\n\r\nhi\r\n"


class SlowDisk(LabMailbox):
    """A real Maildir whose writes wait until the test opens the gate: deliveries pile up meanwhile."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.writing = threading.Event()  # set once the writer has taken its first batch
        self.batches: list[int] = []

    def deliver_many(self, messages):  # type: ignore[no-untyped-def]
        self.writing.set()
        self.gate.wait(10)
        self.batches.append(len(messages))
        return super().deliver_many(messages)


async def handed_over() -> None:
    """Let every task just made run up to its wait for the writer (each hands its message over on the way)."""
    for _ in range(3):
        await asyncio.sleep(0)


def test_concurrent_deliveries_are_stored_in_batches_and_numbered_in_order(tmp_path):
    box = SlowDisk(tmp_path / "maildir")
    writer = DeliveryWriter(box)

    async def main() -> list[int]:
        first = asyncio.ensure_future(writer.deliver("a@x", ["bob@lab.example"], MESSAGE))
        await asyncio.to_thread(box.writing.wait, 10)  # the writer has taken the first message: it waits at the gate
        rest = [asyncio.ensure_future(writer.deliver(f"s{n}@x", ["bob@lab.example"], MESSAGE)) for n in range(9)]
        await handed_over()
        box.gate.set()
        return await asyncio.gather(first, *rest)

    try:
        assert asyncio.run(main()) == list(range(1, 11))
    finally:
        writer.close()
    assert box.batches == [1, 9]  # nine messages queued behind the first one went to disk together
    assert len(box) == 10 and os.listdir(box.path / "tmp") == []
    assert [m.mail_from for m in box] == ["a@x"] + [f"s{n}@x" for n in range(9)]


def test_a_message_that_cannot_be_stored_fails_alone(tmp_path, monkeypatch):
    box = LabMailbox(tmp_path / "maildir")
    writer = DeliveryWriter(box)
    real = box._stage

    def full_for_mallory(sender, recipients, data):  # type: ignore[no-untyped-def]
        if sender == "mallory@x":
            raise OSError(28, "No space left on device")
        return real(sender, recipients, data)

    monkeypatch.setattr(box, "_stage", full_for_mallory)

    async def main() -> list[object]:
        return await asyncio.gather(
            *(writer.deliver(s, ["bob@lab.example"], MESSAGE) for s in ("alice@x", "mallory@x", "carol@x")),
            return_exceptions=True,
        )

    try:
        first, failed, last = asyncio.run(main())
    finally:
        writer.close()
    assert isinstance(failed, OSError) and "No space" in str(failed)
    assert {first, last} == {1, 2} and [m.mail_from for m in box] == ["alice@x", "carol@x"]


def test_a_session_that_goes_away_before_its_turn_has_its_message_left_unstored(tmp_path):
    box = SlowDisk(tmp_path / "maildir")
    writer = DeliveryWriter(box)

    async def main() -> None:
        first = asyncio.ensure_future(writer.deliver("a@x", ["bob@lab.example"], MESSAGE))
        await asyncio.to_thread(box.writing.wait, 10)
        gone = asyncio.ensure_future(writer.deliver("gone@x", ["bob@lab.example"], MESSAGE))
        await handed_over()
        gone.cancel()  # the client hung up after its final dot, before any 250
        box.gate.set()
        assert await first == 1
        with pytest.raises(asyncio.CancelledError):
            await gone
        # and the writer goes on: the next message is stored as usual
        assert await writer.deliver("next@x", ["bob@lab.example"], MESSAGE) == 2

    try:
        asyncio.run(main())
    finally:
        writer.close()
    assert [m.mail_from for m in box] == ["a@x", "next@x"]


def test_close_stores_what_was_handed_over_then_refuses_more(tmp_path):
    box = SlowDisk(tmp_path / "maildir")
    writer = DeliveryWriter(box)
    loop = asyncio.new_event_loop()
    futures = [loop.create_task(writer.deliver(f"s{n}@x", ["bob@lab.example"], MESSAGE)) for n in range(3)]
    loop.run_until_complete(handed_over())
    assert box.writing.wait(10)  # all three handed over; the writer waits at the gate
    closing = threading.Thread(target=writer.close)
    closing.start()
    box.gate.set()
    closing.join(10)
    assert not closing.is_alive() and len(box) == 3  # close() returned only once all three were on disk
    assert loop.run_until_complete(asyncio.wait_for(asyncio.gather(*futures), 10)) == [1, 2, 3]
    with pytest.raises(RuntimeError, match="closed"):
        loop.run_until_complete(writer.deliver("late@x", ["bob@lab.example"], MESSAGE))
    loop.close()
    writer.close()  # idempotent


def test_a_writer_that_never_delivered_starts_no_thread_and_closes_at_once(tmp_path):
    before = threading.active_count()
    writer = DeliveryWriter(LabMailbox(tmp_path / "maildir"))
    assert threading.active_count() == before
    writer.close()


def test_without_threads_each_message_is_stored_on_the_loop_and_numbered_in_order(tmp_path, monkeypatch):
    # Where Python cannot start a thread (Pyodide, in a browser), the writer must not try to.
    def no_thread(*args, **kwargs):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    box = LabMailbox(tmp_path / "maildir")
    writer = DeliveryWriter(box, threaded=False)

    async def main() -> list[int]:
        sessions = [writer.deliver(f"s{n}@x", ["bob@lab.example"], MESSAGE) for n in range(5)]
        return await asyncio.gather(*sessions)

    try:
        assert asyncio.run(main()) == [1, 2, 3, 4, 5]
    finally:
        writer.close()
    assert [m.mail_from for m in box] == [f"s{n}@x" for n in range(5)]
    assert os.listdir(box.path / "tmp") == []
