"""NOOP round trip through `lab.send("NOOP")` against stdlib smtplib and a bare aiosmtpd server, in the same run.

The peer is as plain as it gets: aiosmtpd's SMTP protocol with its stock
`Sink` handler on `loop.create_server` in a background thread, and
`smtplib.SMTP.noop()` from the main thread. The lab does more on every
command: its server vets the reply against the catalogue, and `lab.send`
crosses to the lab's loop thread, sends through aiosmtplib and records the
exchange in the transcript. Target: at most 1.5x the peer's round trip.
Rounds alternate between the two; each figure is the median of the rounds'
mean round trip.

`--breakdown` also times, in the same run, the two parts any `lab.send` made
of a thread hop and aiosmtplib cannot do without: the hop alone (an empty
coroutine run on another thread's loop and waited for), and aiosmtplib's NOOP
to the bare server on that server's own loop, with no hop. Their sum is the
floor of that design, whatever the lab does on top.

    python benchmarks/noop_roundtrip.py [--rounds 15] [--per-round 200] [--breakdown]
"""

from __future__ import annotations

import argparse
import asyncio
import smtplib
import statistics
import time

from lab_startup import BareServer
from paired import alternate, verdict

TARGET_RATIO = 1.5


def mean_round_trip(noop, count: int) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    for _ in range(count):
        noop()
    return (time.perf_counter() - began) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--breakdown", action="store_true", help="also time the thread hop and aiosmtplib alone")
    args = parser.parse_args()
    from smtplab import Lab

    bare = BareServer()
    client = smtplib.SMTP("127.0.0.1", bare.port, timeout=30)
    client.ehlo("bench.example")
    lab = Lab()
    lab.send("EHLO bench.example")

    def lab_noop() -> None:
        reply = lab.send("NOOP")
        assert reply is not None and reply.code == 250

    def smtplib_noop() -> None:
        assert client.noop()[0] == 250

    try:
        bare_rt, lab_rt = alternate(
            lambda: mean_round_trip(smtplib_noop, args.per_round),
            lambda: mean_round_trip(lab_noop, args.per_round),
            args.rounds,
        )
        if args.breakdown:
            hop, in_loop = breakdown(bare, args.rounds, args.per_round)
    finally:
        client.quit()
        lab.close()
        bare.close()
    print(
        f"smtplib NOOP, bare aiosmtpd:  median {bare_rt * 1e6:8.1f} us per round trip "
        f"({args.rounds} rounds x {args.per_round})"
    )
    print(
        f"lab.send('NOOP'):             median {lab_rt * 1e6:8.1f} us per round trip "
        f"({args.rounds} rounds x {args.per_round})"
    )
    if args.breakdown:
        print(f"  the thread hop alone:       median {hop * 1e6:8.1f} us")
        print(f"  aiosmtplib NOOP, same loop: median {in_loop * 1e6:8.1f} us (bare aiosmtpd, no hop)")
        print(
            f"  floor of hop + aiosmtplib:         {(hop + in_loop) * 1e6:8.1f} us = {(hop + in_loop) / bare_rt:.2f}x "
            f"the peer, before the lab does anything"
        )
    return verdict(lab_rt / bare_rt, TARGET_RATIO)


def breakdown(bare: BareServer, rounds: int, per_round: int) -> tuple[float, float]:
    """Median seconds of the thread hop alone, and of aiosmtplib's NOOP on the server's own loop."""
    import aiosmtplib

    loop = bare.loop

    async def nothing() -> None:
        return None

    async def connect() -> aiosmtplib.SMTP:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=bare.port, start_tls=False, local_hostname="bench.example")
        await smtp.connect()
        await smtp.ehlo()
        return smtp

    async def noops(smtp: aiosmtplib.SMTP) -> float:
        began = time.perf_counter()
        for _ in range(per_round):
            response = await smtp.execute_command(b"NOOP")
            assert response.code == 250
        return (time.perf_counter() - began) / per_round

    def hop() -> None:
        asyncio.run_coroutine_threadsafe(nothing(), loop).result()

    smtp = asyncio.run_coroutine_threadsafe(connect(), loop).result(30)
    try:
        hops = [mean_round_trip(hop, per_round) for _ in range(rounds)]
        in_loop = [asyncio.run_coroutine_threadsafe(noops(smtp), loop).result(60) for _ in range(rounds)]
    finally:
        asyncio.run_coroutine_threadsafe(smtp.quit(), loop).result(30)
    return statistics.median(hops), statistics.median(in_loop)


if __name__ == "__main__":
    raise SystemExit(main())
