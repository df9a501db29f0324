"""The thread a lab lives in: its own event loop, and everything that must be released with it.

A :class:`~smtplab.lab.lab.Lab` hands all its work to one background thread
running an asyncio event loop, so that its synchronous API works from a
Jupyter cell (whose own loop is running), a widget callback or a plain
script. :class:`LabRuntime` is that thread, its loop and what lives on it:
the lab's backend (:mod:`smtplab.lab.backends`: its server, if it has one of
its own, its client and its mailbox).

It is kept apart from the lab so that ``weakref.finalize`` (and, at exit,
``atexit``) can close it without holding the lab alive. It knows nothing of
SMTP: it starts, runs coroutines, and stops.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Awaitable
from concurrent.futures import Future
from typing import TypeVar

from smtplab.lab.backends.base import LabBackend

__all__ = ["LabRuntime"]

T = TypeVar("T")


class LabRuntime:
    """Loop and thread of one lab, and the backend that lives on them; see the module docstring."""

    def __init__(self, backend: LabBackend) -> None:
        self.backend = backend
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="smtplab-lab", daemon=True)
        #: Taken by each of the lab's sends, so that one command and its reply never interleave with another's.
        self.lock: asyncio.Lock | None = None
        self.closed = False
        self._close_lock = threading.Lock()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    @property
    def on_own_thread(self) -> bool:
        """True when the caller runs on the lab's loop thread itself."""
        return threading.current_thread() is self.thread

    def call(self, coroutine: Awaitable[T]) -> T:
        """Run ``coroutine`` on the lab's loop and wait for its result, from any other thread.

        If the wait is interrupted (KeyboardInterrupt when a learner interrupts
        the kernel), the coroutine is cancelled on the loop before the
        interruption goes on.
        """
        if self.on_own_thread:
            close = getattr(coroutine, "close", None)
            if close is not None:
                close()
            raise RuntimeError("this runs on the lab's own event loop: use the async twin (await lab.asend(...))")
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
        try:
            return future.result()
        except BaseException:
            # Interrupted (Ctrl-C, "Interrupt kernel") or failed: cancel the work on the loop too, as
            # asyncio.run does, so it lets go of the lab's lock and the next command can run.
            future.cancel()
            raise

    def on_loop(self, coroutine: Awaitable[T]) -> Awaitable[T]:
        """Await ``coroutine`` on the lab's loop from whatever loop the caller runs."""
        if self.on_own_thread:
            return coroutine
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))  # type: ignore[arg-type]

    async def stop(self, at_exit: bool) -> None:
        await self.backend.stop(at_exit)
        await self.loop.shutdown_asyncgens()
        if not at_exit:  # at exit, Python has already joined the executor threads
            await self.loop.shutdown_default_executor()

    def close(self, at_exit: bool = False) -> None:
        """Stop the server, the loop and the thread; remove the temporary Maildir. Idempotent."""
        with self._close_lock:
            if self.closed:
                return
            self.closed = True
        if not at_exit:
            atexit.unregister(self.close)
        if self.on_own_thread:
            # Closed from the lab's own loop (say, the lab became garbage there): let it wind down by itself.
            self.loop.create_task(self._halt())
            return
        try:
            if self.thread.is_alive():
                try:
                    self.call(self.stop(at_exit))
                finally:
                    self.loop.call_soon_threadsafe(self.loop.stop)
                    self.thread.join()
        finally:
            if not self.loop.is_closed() and not self.loop.is_running():
                self.loop.close()
            self.backend.release()

    async def _halt(self) -> None:
        try:
            await self.stop(at_exit=False)
        finally:
            self.backend.release()
            self.loop.stop()
