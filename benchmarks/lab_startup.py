"""Start-up of a learner's `Lab()` against a bare aiosmtpd server started in a thread, in the same run.

A notebook cell that says `lab = Lab()` should come back about as fast as
starting a plain aiosmtpd server the way the lab does it: a thread, its own
event loop, `loop.create_server` on 127.0.0.1 port 0. `Lab()` does that and
also makes its temporary Maildir and connects its client (the 220 greeting is
read), so it is ready for `lab.send(...)` when it returns. Target: at most
1.5x the bare server. Runs alternate between the two; imports are done before
timing starts (both pay them once per kernel); each figure is a median.

    python benchmarks/lab_startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time

from paired import alternate, verdict

TARGET_RATIO = 1.5


class BareServer:
    """aiosmtpd's SMTP protocol on loop.create_server, in a thread with its own loop."""

    def __init__(self) -> None:
        from aiosmtpd.handlers import Sink
        from aiosmtpd.smtp import SMTP

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        handler = Sink()

        async def start() -> asyncio.base_events.Server:
            return await self.loop.create_server(lambda: SMTP(handler, hostname="bare.example"), "127.0.0.1", 0)

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(30)
        self.port = self.server.sockets[0].getsockname()[1]

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


def timed(start):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    thing = start()
    seconds = time.perf_counter() - began
    thing.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    from smtplab import Lab

    bare, lab = alternate(lambda: timed(BareServer), lambda: timed(Lab), args.runs)
    print(f"bare aiosmtpd server in a thread: median {bare * 1000:7.2f} ms over {args.runs} runs")
    print(f"Lab() ready for lab.send:         median {lab * 1000:7.2f} ms over {args.runs} runs")
    return verdict(lab / bare, TARGET_RATIO)


if __name__ == "__main__":
    raise SystemExit(main())
