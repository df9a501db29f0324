"""20 sessions at once against 200, for `smtplab serve` and aiosmtpd's stock Maildir handler, in one run.

Postfix's load generator sends the same messages with 20 and with 200
sessions in parallel,

    smtp-source -s SESSIONS -m 3000 -c -f sender@lab.example -t alice@lab.example 127.0.0.1:PORT

to `smtplab serve --port 0 --maildir DIR` with its default limits (400
sessions, 200 per client) and to the peer of benchmarks/serve_throughput.py
(aiosmtpd's `SMTP` with its stock `Mailbox` handler, no fsync), each in a
process of its own. Every round runs the four combinations one after the
other, in an order that alternates, so that machine noise hits them alike;
each figure is the median over the rounds. Every round checks that every
message reached the Maildir. It also counts the kernel's listen-queue
overflows during each run (`nstat TcpExtListenOverflows`, system-wide), the
handshakes dropped because a server did not accept fast enough.

PASS: smtplab with 200 sessions at least as fast as with 20 (ratio of the
medians 1.0x or more).

    python benchmarks/serve_sessions.py [--messages 3000] [--rounds 3]

Needs `smtp-source` (Debian/Ubuntu: apt-get install postfix; it lives in /usr/sbin).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from serve_throughput import SMTP_SOURCE, Server, smtplab_server, source_argv, stock_server

SESSIONS = (20, 200)
TARGET_RATIO = 1.0
NSTAT = shutil.which("nstat")


def overflows() -> int | None:
    """The kernel's count of listen-queue overflows so far (None without nstat)."""
    if NSTAT is None:
        return None
    out = subprocess.run(
        [NSTAT, "-az", "TcpExtListenOverflows"], check=False, capture_output=True, text=True
    ).stdout.split()
    return int(out[-2]) if len(out) >= 2 and out[-2].isdigit() else None


def one_round(server: Server, sessions: int, messages: int) -> tuple[float, int | None]:
    """(messages per second, listen overflows meanwhile), after checking that every message was stored."""
    before, dropped = server.stored(), overflows()
    argv = source_argv(server.port, sessions, messages)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=900)
    seconds = time.perf_counter() - start
    stored = server.stored() - before
    if stored != messages:
        raise SystemExit(f"{server.name}: {stored} of {messages} messages reached the Maildir")
    after = overflows()
    return messages / seconds, None if dropped is None or after is None else after - dropped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000, help="smtp-source -m: messages per run (default: 3000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default: 3)")
    args = parser.parse_args()
    if not os.access(SMTP_SOURCE, os.X_OK):
        raise SystemExit(f"smtp-source not found at {SMTP_SOURCE}: apt-get install postfix")

    with tempfile.TemporaryDirectory(prefix="smtplab-bench-sessions-") as scratch:
        root = Path(scratch)
        smtplab = smtplab_server(root)
        stock = stock_server(root)
        runs = [(server, sessions) for sessions in SESSIONS for server in (stock, smtplab)]
        rates: dict[tuple[str, int], list[float]] = {(s.name, n): [] for s, n in runs}
        dropped: dict[tuple[str, int], list[int]] = {(s.name, n): [] for s, n in runs}
        try:
            for server in (smtplab, stock):  # warm-up, not counted
                one_round(server, 20, 200)
            for number in range(args.rounds):
                for server, sessions in runs if number % 2 == 0 else runs[::-1]:
                    rate, lost = one_round(server, sessions, args.messages)
                    rates[server.name, sessions].append(rate)
                    if lost is not None:
                        dropped[server.name, sessions].append(lost)
        finally:
            smtplab.stop()
            stock.stop()

    print(
        f"smtp-source -s 20 and -s 200, -m {args.messages}, {args.rounds} rounds; every message stored; "
        "smtplab serve with its default limits"
    )
    for name, label in (("stock", "stock aiosmtpd Mailbox (no fsync)"), ("smtplab", "smtplab serve (fsync)")):
        for sessions in SESSIONS:
            key = (name, sessions)
            runs_text = ", ".join(f"{r:.0f}" for r in rates[key])
            lost = f"; listen overflows {sum(dropped[key])}" if dropped[key] else ""
            print(
                f"{label:34s} -s {sessions:3d}: median {statistics.median(rates[key]):5.0f} msg/s [{runs_text}]{lost}"
            )
    ratio = statistics.median(rates["smtplab", 200]) / statistics.median(rates["smtplab", 20])
    ok = ratio >= TARGET_RATIO
    print(
        f"smtplab, 200 sessions against 20: {ratio:.2f}x (target at least {TARGET_RATIO:.1f}x) -> "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
