"""Messages per second of `smtplab serve` against aiosmtpd's stock Maildir handler, in the same run.

Postfix's load generator `smtp-source` sends the same messages to two servers,
each in its own process, listening on 127.0.0.1 with a port of its own:

* smtplab: `smtplab serve --port 0 --maildir DIR` (the real command, log lines
  on stdout going to a file), which fsyncs every message and its directory
  before answering 250;
* stock: aiosmtpd's `SMTP` protocol with `aiosmtpd.handlers.Mailbox(DIR)`, made
  with `loop.create_server` the way the lab server is, which writes each
  message to a Maildir without fsync.

Rounds alternate between the two, in the order stock-smtplab then
smtplab-stock, so that machine noise (and any drift over the run) hits both
alike; each figure is the median over the rounds. Every round checks that every message
reached the Maildir. Target: smtplab at least 1.0x the stock handler's rate.

    python benchmarks/serve_throughput.py [--sessions 20] [--messages 2000] [--rounds 5]

Needs `smtp-source` (Debian/Ubuntu: apt-get install postfix; it lives in /usr/sbin).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from paired import verdict

TARGET_RATIO = 1.0
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"


def source_argv(port: int, sessions: int, messages: int) -> list[str]:
    """smtp-source sending `messages` one-recipient messages over `sessions` parallel sessions to 127.0.0.1:port."""
    return [
        SMTP_SOURCE,
        "-s",
        str(sessions),
        "-m",
        str(messages),
        "-c",
        "-f",
        "sender@lab.example",
        "-t",
        "alice@lab.example",
        f"127.0.0.1:{port}",
    ]


LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def serve_stock(maildir: str) -> None:
    """The peer: aiosmtpd's stock Mailbox handler on loop.create_server, until SIGTERM."""
    from aiosmtpd.handlers import Mailbox
    from aiosmtpd.smtp import SMTP

    async def main() -> None:
        loop = asyncio.get_running_loop()
        handler = Mailbox(maildir)
        server = await loop.create_server(lambda: SMTP(handler, hostname="stock.example"), "127.0.0.1", 0)
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(f"stock: listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", file=sys.stderr, flush=True)
        await stop.wait()
        server.close()
        await server.wait_closed()

    asyncio.run(main())


class Server:
    """One server process and its Maildir."""

    def __init__(self, name: str, argv: list[str], maildir: Path, log: Path) -> None:
        self.name = name
        self.maildir = maildir
        self.cpu_per_message: list[float] = []  # seconds of the server's processor time, one figure per round
        self.log = open(log, "wb")
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            match = LISTENING.search(line)
            if match:
                self.port = int(match[1])
                return
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise SystemExit(f"{name} did not start: {line.strip() or 'no output'}")

    def stored(self) -> int:
        return len(os.listdir(self.maildir / "new"))

    def cpu_seconds(self) -> float:
        """User plus system time of the server process so far, all its threads included (Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


def smtplab_server(root: Path, *options: str) -> Server:
    """`smtplab serve` on a free port with its Maildir under `root`, plus `options`."""
    argv = [sys.executable, "-m", "smtplab", "serve", "--port", "0", "--maildir", str(root / "smtplab"), *options]
    return Server("smtplab", argv, root / "smtplab", root / "smtplab.log")


def stock_server(root: Path) -> Server:
    """aiosmtpd's stock Mailbox handler (this script's --serve-stock) with its Maildir under `root`."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve-stock", str(root / "stock")]
    return Server("stock", argv, root / "stock", root / "stock.log")


def one_round(server: Server, sessions: int, messages: int) -> float:
    """Send `messages` with smtp-source; return messages per second, after checking every one was stored."""
    before, cpu_before = server.stored(), server.cpu_seconds()
    argv = source_argv(server.port, sessions, messages)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=600)
    seconds = time.perf_counter() - start
    stored = server.stored() - before
    if stored != messages:
        raise SystemExit(f"{server.name}: {stored} of {messages} messages reached the Maildir")
    server.cpu_per_message.append((server.cpu_seconds() - cpu_before) / messages)
    return messages / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20, help="smtp-source -s: sessions in parallel (default: 20)")
    parser.add_argument("--messages", type=int, default=2000, help="smtp-source -m: messages per round (default: 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per server (default: 5)")
    parser.add_argument("--serve-stock", metavar="MAILDIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stock:
        serve_stock(args.serve_stock)
        return 0
    if not os.access(SMTP_SOURCE, os.X_OK):
        raise SystemExit(f"smtp-source not found at {SMTP_SOURCE}: apt-get install postfix")

    with tempfile.TemporaryDirectory(prefix="smtplab-bench-") as scratch:
        root = Path(scratch)
        smtplab = smtplab_server(root, "--max-connections", str(max(20, args.sessions * 2)))
        stock = stock_server(root)
        rates: dict[str, list[float]] = {"smtplab": [], "stock": []}
        try:
            # A short warm-up round each (byte-code, first Maildir files), not counted.
            one_round(smtplab, args.sessions, args.sessions * 5)
            one_round(stock, args.sessions, args.sessions * 5)
            smtplab.cpu_per_message.clear()
            stock.cpu_per_message.clear()
            for number in range(args.rounds):
                for server in (stock, smtplab) if number % 2 == 0 else (smtplab, stock):
                    rates[server.name].append(one_round(server, args.sessions, args.messages))
        finally:
            smtplab.stop()
            stock.stop()
        logged = sum(1 for _ in open(root / "smtplab.log", "rb"))

    stock_rate = statistics.median(rates["stock"])
    smtplab_rate = statistics.median(rates["smtplab"])
    ratio = smtplab_rate / stock_rate
    per_round = lambda name: ", ".join(f"{r:.0f}" for r in rates[name])  # noqa: E731
    print(f"smtp-source -s {args.sessions} -m {args.messages}, {args.rounds} rounds each; every message stored")
    print(f"stock aiosmtpd Mailbox (no fsync):      median {stock_rate:7.0f} msg/s  [{per_round('stock')}]")
    print(f"smtplab serve (fsync before each 250):  median {smtplab_rate:7.0f} msg/s  [{per_round('smtplab')}]")
    print(
        f"processor time per message (server process, median): stock "
        f"{statistics.median(stock.cpu_per_message) * 1000:.2f} ms, smtplab "
        f"{statistics.median(smtplab.cpu_per_message) * 1000:.2f} ms"
    )
    print(f"smtplab session log lines: {logged}")
    return verdict(ratio, TARGET_RATIO, at_most=False)


if __name__ == "__main__":
    raise SystemExit(main())
