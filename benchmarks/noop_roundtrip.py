"""NOOP round trip through `lab.send("NOOP")` against stdlib smtplib and a bare aiosmtpd server, in the same run.

The peer is as plain as it gets: aiosmtpd's SMTP protocol with its stock
`Sink` handler on `loop.create_server` in a background thread, and
`smtplib.SMTP.noop()` from the main thread. The lab does more on every
command: its server vets the reply against the catalogue, and `lab.send`
crosses to the lab's loop thread, sends through aiosmtplib and records the
exchange in the transcript. Target: at most 1.5x the peer's round trip.
Rounds alternate between the two; each figure is the median of the rounds'
mean round trip.

    python benchmarks/noop_roundtrip.py [--rounds 15] [--per-round 200]
"""

from __future__ import annotations

import argparse
import smtplib
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
            lambda: mean_round_trip(smtplib_noop, args.per_round), lambda: mean_round_trip(lab_noop, args.per_round),
            args.rounds,
        )
    finally:
        client.quit()
        lab.close()
        bare.close()
    print(f"smtplib NOOP, bare aiosmtpd:  median {bare_rt * 1e6:8.1f} us per round trip "
          f"({args.rounds} rounds x {args.per_round})")
    print(f"lab.send('NOOP'):             median {lab_rt * 1e6:8.1f} us per round trip "
          f"({args.rounds} rounds x {args.per_round})")
    return verdict(lab_rt / bare_rt, TARGET_RATIO)


if __name__ == "__main__":
    raise SystemExit(main())
