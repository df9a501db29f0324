"""Greylisting's memory: entries expire as postgrey's do, and the table is bounded."""

from __future__ import annotations

import smtplib
import time
import tracemalloc

import pytest
from targets import InProcessTarget

from smtplab.server.decisions import MAX_ENTRIES, MAX_WAITING_PER_CLIENT, Greylist
from smtplab.server.lab_server import Limits
from smtplab.server.policy import Policy

pytestmark = pytest.mark.timeout(120)


@pytest.mark.slow
def test_the_greylist_stays_small_over_200000_triplets():
    """tracemalloc in-process (each triple is one RCPT; 200,000 over the wire would take minutes)."""
    greylist = Greylist()
    tracemalloc.start()
    try:
        for n in range(200_000):  # from 50 addresses: the table fills, not just one client's share of it
            client = f"192.0.2.{n % 50}"
            assert greylist.check(client, f"s{n}@school.example", "alice@lab.example", 60, n / 100) == "60"
            if n == 2 * MAX_ENTRIES:
                full = tracemalloc.get_traced_memory()[0]
        end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(greylist) == MAX_ENTRIES
    assert end - full < 64 * 1024


def test_a_first_try_not_retried_within_the_retry_window_waits_again():
    greylist = Greylist(retry_window=3600, max_age=86400)
    assert greylist.check("192.0.2.1", "a@x.example", "alice@lab.example", 60, 0) == "60"
    assert greylist.check("192.0.2.1", "a@x.example", "alice@lab.example", 60, 3601) == "60"  # forgotten
    assert greylist.check("192.0.2.1", "a@x.example", "alice@lab.example", 60, 3661) is None
    assert greylist.check("192.0.2.1", "a@x.example", "alice@lab.example", 60, 3661 + 86000) is None  # still used
    assert greylist.check("192.0.2.1", "a@x.example", "alice@lab.example", 60, 3661 + 86000 + 86401) == "60"
    assert len(greylist) == 1


def test_a_full_greylist_forgets_waiting_triples_before_passed_ones():
    greylist = Greylist(max_entries=3)
    assert greylist.check("192.0.2.1", "a@x.example", "alice@lab.example", 10, 0) == "10"
    assert greylist.check("192.0.2.1", "a@x.example", "alice@lab.example", 10, 10) is None  # passed
    for n in range(5):
        greylist.check("192.0.2.1", f"w{n}@x.example", "alice@lab.example", 10, 11 + n)
    assert len(greylist) == 3
    assert greylist.check("192.0.2.1", "a@x.example", "alice@lab.example", 10, 20) is None  # kept
    assert greylist.check("192.0.2.1", "w0@x.example", "alice@lab.example", 10, 21) == "10"  # forgotten: waits again


def test_one_client_holds_at_most_its_share_of_waiting_triples():
    greylist = Greylist()
    assert greylist.check("192.0.2.1", "mx@school.example", "alice@lab.example", 60, 0) == "60"
    for n in range(3 * MAX_WAITING_PER_CLIENT):
        greylist.check("198.51.100.7", f"junk{n}@spam.example", "alice@lab.example", 60, 1 + n / 1000)
    assert len(greylist) == 1 + MAX_WAITING_PER_CLIENT
    assert greylist.check("192.0.2.1", "mx@school.example", "alice@lab.example", 60, 61) is None  # still remembered


@pytest.mark.slow
def test_another_clients_3000_junk_triplets_never_make_a_real_servers_retry_wait_again(tmp_path):
    """smtplib as the real server (127.0.0.1), a raw client pipelining junk from 127.0.0.2, over loopback.

    The table is made to hold 2,000 triplets (of 10,000) so that 3,000 overflow it in seconds.
    """
    limits = Limits(junk_command_limit=None, hard_error_limit=None)
    target = InProcessTarget(tmp_path, Policy(greylist_seconds=1), limits)
    target.server.greylist.max_entries = 2 * MAX_WAITING_PER_CLIENT
    try:
        with smtplib.SMTP(target.host, target.port, local_hostname="mx.school.example", timeout=15) as mta:
            mta.ehlo()
            mta.mail("news@school.example")
            assert mta.rcpt("alice@lab.example")[0] == 450  # first try: greylisted
        started = time.monotonic()
        with target.raw(source="127.0.0.2") as flood:
            assert flood.reply().code == 220
            assert flood.command("EHLO junk.example").code == 250
            users = ("alice", "bob", "carol", "alan")
            for batch in range(15):  # 15 x 50 senders x 4 recipients: 3,000 triplets
                lines = "".join(
                    f"MAIL FROM:<j{batch}-{n}@spam.example>\r\n"
                    + "".join(f"RCPT TO:<{user}@lab.example>\r\n" for user in users)
                    + "RSET\r\n"
                    for n in range(50)
                )
                flood.send(lines)
                codes = [reply.code for reply in flood.replies(50 * 6)]
                assert codes.count(450) == 200, codes[:12]
        flooded = time.monotonic() - started
        time.sleep(max(0.0, 1.1 - flooded))
        with smtplib.SMTP(target.host, target.port, local_hostname="mx.school.example", timeout=15) as mta:
            refused = mta.sendmail("news@school.example", ["alice@lab.example"], "Subject: retry\r\n\r\nhi\r\n")
        assert refused == {}  # the retry after the delay passes
        assert len(target.server.greylist) <= 1 + MAX_WAITING_PER_CLIENT
        print(f"3,000 junk triplets in {flooded:.1f}s; the greylist holds {len(target.server.greylist)}")
    finally:
        target.close()
