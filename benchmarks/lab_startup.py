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
import statistics
import threading
import time

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

    for _ in range(3):  # warm up: imports, byte-code, the catalogue cache
        timed(Lab)
        timed(BareServer)
    lab_times, bare_times = [], []
    for _ in range(args.runs):
        bare_times.append(timed(BareServer))
        lab_times.append(timed(Lab))
    bare = statistics.median(bare_times)
    lab = statistics.median(lab_times)
    ratio = lab / bare
    print(f"bare aiosmtpd server in a thread: median {bare * 1000:7.2f} ms over {args.runs} runs")
    print(f"Lab() ready for lab.send:         median {lab * 1000:7.2f} ms over {args.runs} runs")
    print(f"ratio: {ratio:.2f}x (target at most {TARGET_RATIO:.1f}x) -> {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
