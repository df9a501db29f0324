"""`smtplab serve` with 200 sessions at once, against aiosmtpd's stock Maildir handler, in the same run.

A whole classroom's worth of clients at the same moment: Postfix's load
generator opens 200 sessions in parallel and sends 2000 messages,

    smtp-source -s 200 -m 2000 -c -f sender@lab.example -t alice@lab.example 127.0.0.1:PORT

to the real `smtplab serve --port 0 --maildir DIR --max-connections 400`
(twice the sessions, so that no session is turned away with 421), and the
same to the peer of benchmarks/serve_throughput.py: aiosmtpd's `SMTP` with
its stock `Mailbox` handler (no fsync, no connection limit), each server in a
process of its own. Rounds alternate between the two.

Every round of smtplab must have zero errors: smtp-source exits 0 and says
nothing on stderr (it reports every refused or broken session there), every
message is in the Maildir (`new/`, none left in `tmp/`), and every session's
log line reads HELO MAIL RCPT DATA QUIT -> 220 250 250 250 354 250 221
stored=1. Figures: messages per second (median of the rounds) of both, and
the ratio. PASS: no error, every message stored, and at least 1.0x the
stock handler's rate.

    python benchmarks/serve_200.py [--sessions 200] [--messages 2000] [--rounds 3]

Needs `smtp-source` (Debian/Ubuntu: apt-get install postfix; it lives in /usr/sbin).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from serve_throughput import SMTP_SOURCE, Server, smtplab_server, source_argv, stock_server

TARGET_RATIO = 1.0
SESSION = " [HELO MAIL RCPT DATA QUIT] -> [220 250 250 250 354 250 221] stored=1 "


def one_round(server: Server, sessions: int, messages: int) -> tuple[float, list[str]]:
    """Send `messages` over `sessions` parallel sessions: (messages per second, every error seen)."""
    before = server.stored()
    argv = source_argv(server.port, sessions, messages)
    start = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=900)
    seconds = time.perf_counter() - start
    errors = [f"smtp-source: {line}" for line in result.stderr.splitlines() if line.strip()]
    if result.returncode != 0:
        errors.append(f"smtp-source exit status {result.returncode}")
    stored = server.stored() - before
    if stored != messages:
        errors.append(f"{stored} of {messages} messages reached {server.maildir / 'new'}")
    left = os.listdir(server.maildir / "tmp")
    if left:
        errors.append(f"{len(left)} file(s) left in {server.maildir / 'tmp'}")
    return messages / seconds, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200, help="smtp-source -s: sessions in parallel (default: 200)")
    parser.add_argument("--messages", type=int, default=2000, help="smtp-source -m: messages per round (default: 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server (default: 3)")
    args = parser.parse_args()
    if not os.access(SMTP_SOURCE, os.X_OK):
        raise SystemExit(f"smtp-source not found at {SMTP_SOURCE}: apt-get install postfix")
    max_connections = args.sessions * 2

    with tempfile.TemporaryDirectory(prefix="smtplab-bench-200-") as scratch:
        root = Path(scratch)
        smtplab = smtplab_server(root, "--max-connections", str(max_connections))
        stock = stock_server(root)
        rates: dict[str, list[float]] = {"smtplab": [], "stock": []}
        errors: dict[str, list[str]] = {"smtplab": [], "stock": []}
        sent = 0
        try:
            # A short warm-up round each (byte-code, first Maildir files), counted in the checks, not the figures.
            for server in (smtplab, stock):
                errors[server.name] += one_round(server, args.sessions, args.sessions)[1]
            sent += args.sessions
            for _ in range(args.rounds):
                for server in (stock, smtplab):
                    rate, seen = one_round(server, args.sessions, args.messages)
                    rates[server.name].append(rate)
                    errors[server.name] += seen
                sent += args.messages
        finally:
            smtplab.stop()
            stock.stop()
        exit_status = smtplab.process.returncode
        stopped = smtplab.process.stderr.read()
        lines = (root / "smtplab.log").read_text(encoding="utf-8", errors="replace").splitlines()
        stored = smtplab.stored()

    if exit_status != 0:
        errors["smtplab"].append(f"smtplab serve exit status {exit_status}: {stopped.strip()}")
    odd = [line for line in lines if SESSION not in line]
    if len(lines) != sent or odd:
        errors["smtplab"].append(
            f"{len(lines)} session log lines for {sent} sessions, {len(odd)} not a clean "
            f"delivery{': ' + odd[0] if odd else ''}"
        )
    if stored != sent:
        errors["smtplab"].append(f"{stored} messages in the Maildir, {sent} sent")

    stock_rate = statistics.median(rates["stock"])
    smtplab_rate = statistics.median(rates["smtplab"])
    ratio = smtplab_rate / stock_rate
    per_round = lambda name: ", ".join(f"{r:.0f}" for r in rates[name])  # noqa: E731
    print(
        f"smtp-source -s {args.sessions} -m {args.messages}, {args.rounds} rounds each after a warm-up; "
        f"smtplab serve --max-connections {max_connections}"
    )
    print(
        f"stock aiosmtpd Mailbox (no fsync):      median {stock_rate:7.0f} msg/s  [{per_round('stock')}]; "
        f"errors: {len(errors['stock'])}"
    )
    print(
        f"smtplab serve (fsync before each 250):  median {smtplab_rate:7.0f} msg/s  [{per_round('smtplab')}]; "
        f"errors: {len(errors['smtplab'])}"
    )
    print(
        f"smtplab: {stored} of {sent} messages in the Maildir, {len(lines) - len(odd)} of {sent} sessions "
        f"logged as clean deliveries, exit status {exit_status} on SIGTERM"
    )
    for name in ("smtplab", "stock"):
        for error in errors[name][:10]:
            print(f"  {name}: {error}")
    ok = not errors["smtplab"] and ratio >= TARGET_RATIO
    print(
        f"ratio smtplab/stock: {ratio:.2f}x (target at least {TARGET_RATIO:.1f}x, with zero errors) -> "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
