"""Greylisting's memory: entries expire as postgrey's do, and the table is bounded."""

from __future__ import annotations

import tracemalloc

import pytest

from smtplab.server.decisions import MAX_ENTRIES, Greylist

pytestmark = pytest.mark.timeout(120)


@pytest.mark.slow
def test_the_greylist_stays_small_over_200000_triplets():
    """tracemalloc in-process (each triple is one RCPT; 200,000 over the wire would take minutes)."""
    greylist = Greylist()
    tracemalloc.start()
    try:
        for n in range(200_000):
            assert greylist.check("192.0.2.1", f"s{n}@school.example", "alice@lab.example", 60, n / 100) == "60"
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
