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

A browser (Pyodide) cannot start a thread. There :class:`BrowserRuntime`
keeps the lab on Pyodide's own event loop, and a synchronous call waits with
``pyodide.ffi.run_sync``, which suspends the WebAssembly stack until the
coroutine is done (JavaScript Promise Integration); :func:`runtime_for`
picks the one that fits.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import sys
import threading
from collections.abc import Awaitable
from concurrent.futures import Future
from typing import Generic, TypeVar

from smtplab.lab.backends.base import LabBackend

__all__ = ["BrowserRuntime", "LabRuntime", "runtime_for"]

T = TypeVar("T")


class _Cancellable(Generic[T]):
    """A coroutine to run on the lab's loop that the calling thread can cancel at any moment after it made
    this: :meth:`cancel`, called on the loop, stops it whether it has not started yet or is running."""

    def __init__(self, coroutine: Awaitable[T]) -> None:
        self.coroutine = coroutine
        self.task: asyncio.Task[T] | None = None
        self.cancelled = False

    async def run(self) -> T:
        if self.cancelled:  # cancelled before the loop started it
            close = getattr(self.coroutine, "close", None)
            if close is not None:
                close()
            raise asyncio.CancelledError
        self.task = asyncio.current_task()
        return await self.coroutine

    def cancel(self) -> None:
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()


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

    def start(self) -> None:
        """Start the loop's thread."""
        self.thread.start()

    def background(self, coroutine: Awaitable[T]) -> Future[T]:
        """Start ``coroutine`` on the lab's loop and return at once; the future holds its outcome."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]

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
        call = _Cancellable(coroutine)
        try:
            future: Future[T] = asyncio.run_coroutine_threadsafe(call.run(), self.loop)
            return future.result()
        except BaseException:
            # Interrupted (Ctrl-C, "Interrupt kernel") or failed: cancel the work on the loop too, as
            # asyncio.run does, so it lets go of the lab's lock and the next command can run. The
            # interruption may come while the coroutine is being handed to the loop, before there is a
            # future to cancel: the call is cancelled on the loop itself, where it starts or runs.
            if not self.loop.is_closed():
                self.loop.call_soon_threadsafe(call.cancel)
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


class BrowserRuntime:
    """A lab's work on Pyodide's own event loop, where no thread can start; see the module docstring."""

    on_own_thread = False  # a synchronous call is allowed: run_sync waits without a second thread

    def __init__(self, backend: LabBackend) -> None:
        self.backend = backend
        self.loop = asyncio.get_event_loop()
        self.lock: asyncio.Lock | None = None
        self.closed = False

    def start(self) -> None:
        """Nothing to start: the loop is Pyodide's, already running."""

    def call(self, coroutine: Awaitable[T]) -> T:
        """Run ``coroutine`` on Pyodide's loop and wait for its result (``pyodide.ffi.run_sync``)."""
        from pyodide.ffi import can_run_sync, run_sync  # type: ignore[import-not-found]  # only in Pyodide

        if not can_run_sync():
            close = getattr(coroutine, "close", None)
            if close is not None:
                close()
            raise RuntimeError(
                "this browser cannot wait for the lab here (no JavaScript Promise Integration): "
                "use the async twin, as in await lab.asend(...)"
            )
        return run_sync(coroutine)

    def on_loop(self, coroutine: Awaitable[T]) -> Awaitable[T]:
        return coroutine

    def background(self, coroutine: Awaitable[T]) -> Future[T]:
        """Run ``coroutine`` now (the lab's own server answers at once in memory); its outcome as a done future."""
        future: Future[T] = Future()
        try:
            future.set_result(self.call(coroutine))
        except Exception as exc:
            future.set_exception(exc)
        return future

    async def stop(self, at_exit: bool) -> None:
        await self.backend.stop(at_exit)

    def close(self, at_exit: bool = False) -> None:
        """Stop the server and close the connection; remove the temporary Maildir. Idempotent."""
        if self.closed:
            return
        self.closed = True
        if not at_exit:
            atexit.unregister(self.close)
        try:
            self.call(self.stop(at_exit))
        finally:
            self.backend.release()


def runtime_for(backend: LabBackend) -> LabRuntime | BrowserRuntime:
    """A browser runtime in Pyodide (``sys.platform == "emscripten"``, with ``pyodide.ffi`` to wait with), a
    thread of its own elsewhere."""
    in_pyodide = sys.platform == "emscripten" and importlib.util.find_spec("pyodide") is not None
    return BrowserRuntime(backend) if in_pyodide else LabRuntime(backend)
