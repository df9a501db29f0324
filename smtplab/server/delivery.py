"""Durable delivery off the event loop: one writer thread that stores messages in batches.

The lab server must not answer 250 before a message is on disk, and must
not stall every other session while ``fsync`` waits for the disk. So the
handler hands each message to a :class:`DeliveryWriter` and awaits it; the
writer's thread takes whatever has queued up since its last turn, stores it
with :meth:`LabMailbox.deliver_many <smtplab.server.mailbox.LabMailbox.deliver_many>`
(one flush of ``new/`` for the lot) and answers each waiting session on its
event loop in one call. Under load, batches grow on their own, and a busy
classroom server wakes one thread per batch rather than one per message.

Where Python cannot start a thread (Pyodide, the course in a browser), each
message is stored on the event loop as it comes: one learner's lab, a
Maildir in the browser's memory, nothing for a thread to wait on.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
from collections.abc import Sequence

from smtplab.server.mailbox import LabMailbox

__all__ = ["DeliveryWriter"]

_STOP = None  # put on the queue by close()
#: Whether this Python can start a thread: Pyodide (``sys.platform == "emscripten"``) cannot.
CAN_START_THREADS = sys.platform not in ("emscripten", "wasi")

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[int]", str, Sequence[str], bytes]


class DeliveryWriter:
    """Stores messages in ``mailbox`` from one thread, started at the first delivery.

    :meth:`close` stores everything already handed over, then stops the
    thread: a server that stops never loses a message it was storing.
    """

    def __init__(self, mailbox: LabMailbox, *, threaded: bool = CAN_START_THREADS) -> None:
        self.mailbox = mailbox
        self.threaded = threaded
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    async def deliver(self, sender: str, recipients: Sequence[str], data: bytes) -> int:
        """Store one message; return its number in the mailbox once it is on disk (raise if it could not be)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the delivery writer is closed")
            if self.threaded:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="smtplab-deliver", daemon=True)
                    self._thread.start()
                self._queue.put((loop, future, sender, recipients, data))
        if not self.threaded:
            self._store([(loop, future, sender, recipients, data)])
        return await future

    def close(self) -> None:
        """Store what was handed over, then stop the thread. Idempotent; blocks until done."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # A session that went away before its turn gets no 250, so its message is not stored (its
            # client will send it again); one whose message is being written when it goes is stored.
            jobs = [job for job in batch if job is not _STOP and not job[1].cancelled()]
            if jobs:
                self._store(jobs)
            if any(job is _STOP for job in batch):
                return

    def _store(self, jobs: list[_Job]) -> None:
        try:
            results: list[str | Exception] = self.mailbox.deliver_many([(s, r, d) for _, _, s, r, d in jobs])
            total = self.mailbox.count()
        except Exception as exc:  # the mailbox is closed, or could not be read: every job fails alike
            results, total = [exc] * len(jobs), 0
        # Numbers in arrival order: the stored messages of this batch are the last ones counted.
        number = total - sum(isinstance(r, str) for r in results)
        answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int | Exception]]] = {}
        for (loop, future, *_), result in zip(jobs, results, strict=True):
            if isinstance(result, str):
                number += 1
                answers.setdefault(loop, []).append((future, number))
            else:
                answers.setdefault(loop, []).append((future, result))
        for loop, pairs in answers.items():
            try:
                loop.call_soon_threadsafe(_answer, pairs)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                pass


def _answer(pairs: list[tuple[asyncio.Future[int], int | Exception]]) -> None:
    for future, outcome in pairs:
        if future.done():  # cancelled: the session went away
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
