"""The lab mailbox: a real Maildir, written atomically, read back with its envelope."""

from __future__ import annotations

import mailbox
import os
import threading
from pathlib import Path

import pytest

from smtplab.errors import MailboxError
from smtplab.server.mailbox import LabMailbox, MessageSummary

MESSAGE = b"From: Alice <alice@lab.example>\r\nSubject: Hello lab\r\n\r\nFirst message.\r\n"


@pytest.fixture
def box(tmp_path):
    with LabMailbox(tmp_path / "Maildir") as lab_box:
        yield lab_box


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


def test_a_delivered_message_is_a_file_in_new_and_nothing_else(box):
    key = box.deliver("alice@lab.example", ["bob@lab.example"], MESSAGE)
    assert files_under(box.path) == [f"new/{key}"]
    assert key.endswith(".smtplab") and "/" not in key
    assert box.raw(key) == MESSAGE
    assert len(box) == 1 and key in box


def test_the_envelope_survives_and_the_message_reads_back(box):
    key = box.deliver("alice@lab.example", ["bob@lab.example", "carol@lab.example"], MESSAGE)
    (summary,) = box.messages()
    assert summary == MessageSummary(
        key, "alice@lab.example", ("bob@lab.example", "carol@lab.example"), "Hello lab", len(MESSAGE)
    )
    message = box.get(key)
    assert message["Subject"] == "Hello lab"
    assert message.get_content() == "First message.\n"
    assert "X-Smtplab-Envelope-From" not in message
    assert box.get("no-such-key") is None
    with pytest.raises(KeyError):
        box["no-such-key"]


def test_the_null_sender_and_encoded_subjects(box):
    box.deliver("", ["postmaster@lab.example"], b"Subject: =?utf-8?q?Xin_ch=C3=A0o?=\r\n\r\nbounce\r\n")
    (summary,) = box
    assert summary.mail_from == ""
    assert summary.subject == "Xin chào"


def test_a_message_cannot_forge_its_envelope(box):
    forged = b"X-Smtplab-Envelope-From: <boss@lab.example>\r\nSubject: hi\r\n\r\nbody\r\n"
    key = box.deliver("eve@elsewhere.example", ["bob@lab.example"], forged)
    (summary,) = box.messages()
    assert summary.mail_from == "eve@elsewhere.example"
    assert summary.rcpt_tos == ("bob@lab.example",)
    assert box.raw(key) == forged


def test_nothing_in_a_message_or_envelope_chooses_where_it_is_written(tmp_path):
    root = tmp_path / "root"
    with LabMailbox(root / "Maildir") as box:
        nasty = b"Subject: ../../../etc/passwd\r\nMessage-ID: <../../x>\r\n\r\n/../../\r\n"
        box.deliver("../../evil@x", ["../../../tmp/x", "a\r\nX-Injected: 1"], nasty)
        assert files_under(root) == [f"Maildir/new/{box.keys()[0]}"]
        (summary,) = box.messages()
        assert summary.rcpt_tos == ("../../../tmp/x", "a??X-Injected: 1")
        assert "X-Injected" not in box.get(box.keys()[0])


def test_binary_bytes_are_stored_exactly(box):
    data = b"Subject: bytes\r\n\r\n" + bytes(range(256)) + b"\r\n"
    key = box.deliver("a@x", ["bob@lab.example"], data)
    assert box.raw(key) == data
    assert box.messages()[0].size == len(data)


def test_readers_never_see_half_a_message(box):
    """Maildir's promise: a file appears in new/ only once it is complete."""
    body = b"x" * 1_000_000
    sizes: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for name in os.listdir(box.path / "new"):
                try:
                    sizes.add(len((box.path / "new" / name).read_bytes()) - len(body))
                except FileNotFoundError:  # pragma: no cover - removed meanwhile
                    pass

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for n in range(20):
            box.deliver("a@x", ["bob@lab.example"], b"Subject: %d\r\n\r\n" % n + body)
    finally:
        done.set()
        watcher.join()
    header = len(b"X-Smtplab-Envelope-From: <a@x>\r\nX-Smtplab-Envelope-To: <bob@lab.example>\r\n")
    assert sizes and all(size - header in (len(b"Subject: 0\r\n\r\n"), len(b"Subject: 10\r\n\r\n")) for size in sizes)
    assert os.listdir(box.path / "tmp") == []


def test_a_failed_write_leaves_nothing_behind(box, monkeypatch):
    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="No space"):
        box.deliver("a@x", ["bob@lab.example"], MESSAGE)
    monkeypatch.undo()
    assert files_under(box.path) == []
    assert len(box) == 0


def test_messages_come_back_in_the_order_they_arrived(box):
    for n in range(12):
        box.deliver("a@x", ["bob@lab.example"], b"Subject: message %d\r\n\r\n." % n)
    assert [m.subject for m in box] == [f"message {n}" for n in range(12)]


def test_any_maildir_reader_can_read_it(box):
    box.deliver("a@x", ["bob@lab.example"], MESSAGE)
    stdlib = mailbox.Maildir(box.path, create=False)
    (message,) = stdlib
    assert message["Subject"] == "Hello lab"
    assert message["X-Smtplab-Envelope-To"] == "<bob@lab.example>"


def test_clear_empties_it(box):
    box.deliver("a@x", ["bob@lab.example"], MESSAGE)
    box.clear()
    assert len(box) == 0 and box.messages() == []


def test_a_temporary_mailbox_is_removed_on_close_unless_kept():
    box = LabMailbox()
    box.deliver("a@x", ["bob@lab.example"], MESSAGE)
    path = box.path
    assert path.is_dir()
    box.close()
    assert not path.exists()
    assert box.closed
    with pytest.raises(MailboxError, match="closed"):
        box.deliver("a@x", ["bob@lab.example"], MESSAGE)
    box.close()  # twice is fine

    kept = LabMailbox(keep=True)
    kept.close()
    assert kept.path.is_dir()
    LabMailbox(kept.path).close()  # a given path is never removed
    assert (kept.path / "new").is_dir()
    for sub in ("tmp", "new", "cur"):
        (kept.path / sub).rmdir()
    kept.path.rmdir()


def test_a_mailbox_on_an_existing_maildir_sees_its_messages(tmp_path):
    with LabMailbox(tmp_path / "md") as first:
        first.deliver("a@x", ["bob@lab.example"], MESSAGE)
    with LabMailbox(tmp_path / "md") as second:
        assert [m.subject for m in second] == ["Hello lab"]


def test_text_table(box):
    assert str(box) == "Lab mailbox: no messages"
    box.deliver("alice@lab.example", ["bob@lab.example"], MESSAGE)
    box.deliver("", ["carol@lab.example", "alan@lab.example"], b"Subject: Re: <b>hi</b> & bye\r\n\r\nx\r\n")
    assert str(box) == (
        "Lab mailbox: 2 messages\n"
        "#  From               To                                   Subject              Size\n"
        "-  -----------------  -----------------------------------  -------------------  ----\n"
        "1  alice@lab.example  bob@lab.example                      Hello lab            71 B\n"
        "2  <>                 carol@lab.example, alan@lab.example  Re: <b>hi</b> & bye  35 B"
    )
    assert repr(box) == "<LabMailbox 2 messages>"


def test_html_table_is_escaped_and_shows_no_ids(box):
    key = box.deliver("alice@lab.example", ["bob@lab.example"], b"Subject: Re: <b>hi</b> & bye\r\n\r\nx\r\n")
    html = box._repr_html_()
    assert '<div class="smtplab smtplab-mailbox" lang="en">' in html and '<table class="smtplab-mailbox-table">' in html
    assert "Re: &lt;b&gt;hi&lt;/b&gt; &amp; bye" in html
    assert "<b>" not in html
    assert key not in html and str(box.path) not in html
    assert "<th>Subject</th>" in html and "<td>alice@lab.example</td>" in html


def test_a_vietnamese_mailbox_speaks_vietnamese(tmp_path):
    with LabMailbox(tmp_path / "md", lang="vi") as box:
        assert str(box) == "Hộp thư môi trường thực hành: chưa có thư nào"
        box.deliver("alice@lab.example", ["bob@lab.example"], MESSAGE)
        lines = str(box).splitlines()
        assert lines[0] == "Hộp thư môi trường thực hành: 1 thư"
        assert lines[1].split() == ["#", "Người", "gửi", "Người", "nhận", "Tiêu", "đề", "Kích", "thước"]
        html = box._repr_html_()
        assert (
            'lang="vi"' in html
            and "<th>Người gửi</th>" in html
            and "<caption>Hộp thư môi trường thực hành: 1 thư</caption>" in html
        )
    assert str(box) == "Hộp thư môi trường thực hành (đã đóng)"


def test_count_is_cheap_and_follows_deliveries_and_clear(box):
    assert box.count() == 0
    for _ in range(3):
        box.deliver("alice@lab.example", ["bob@lab.example"], MESSAGE)
    assert box.count() == 3 == len(box)
    box.clear()
    assert box.count() == 0
    box.deliver("alice@lab.example", ["bob@lab.example"], MESSAGE)
    assert box.count() == 1


def test_deliveries_from_several_threads_all_arrive_each_flushed(box, monkeypatch):
    """The server has one writer; a program that delivers from several threads still loses nothing."""
    import smtplab.server.mailbox as module

    real, syncs = module._fsync_directory, []
    monkeypatch.setattr(module, "_fsync_directory", lambda path: (syncs.append(path), real(path)))
    threads = [
        threading.Thread(target=box.deliver, args=("a@lab.example", ["bob@lab.example"], MESSAGE)) for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(box) == 16 and box.count() == 16
    assert syncs == [box.path / "new"] * 16 and os.listdir(box.path / "tmp") == []


def test_deliver_many_stores_each_message_with_one_directory_sync_and_reports_each_failure(box, monkeypatch):
    import smtplab.server.mailbox as module

    real_sync, syncs = module._fsync_directory, []
    monkeypatch.setattr(module, "_fsync_directory", lambda path: (syncs.append(path), real_sync(path)))
    real_fsync = os.fsync

    def second_write_fails(fd: int) -> None:  # the fsyncs of a batch run side by side, in any order
        if Path(os.readlink(f"/proc/self/fd/{fd}")).read_bytes().endswith(b"Subject: 1\r\n\r\nhi\r\n"):
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", second_write_fails)
    results = box.deliver_many([("a@x", ["bob@lab.example"], b"Subject: %d\r\n\r\nhi\r\n" % n) for n in range(3)])
    assert isinstance(results[1], OSError) and "No space" in str(results[1])
    assert (
        [r for r in results if isinstance(r, str)] == sorted(os.listdir(box.path / "new")) == [results[0], results[2]]
    )
    assert [m.subject for m in box] == ["0", "2"] and box.count() == 2
    assert os.listdir(box.path / "tmp") == [] and syncs == [box.path / "new"]


def test_a_batch_is_still_stored_when_no_thread_can_be_started_for_its_fsyncs(box, monkeypatch):
    """As at interpreter exit, when executors refuse new work: the fsyncs run one after the other."""
    from concurrent.futures import ThreadPoolExecutor

    import smtplab.server.mailbox as module

    refusing = ThreadPoolExecutor(max_workers=1)
    refusing.shutdown()
    monkeypatch.setattr(module, "_fsync_pool", refusing)
    results = box.deliver_many([("a@x", ["bob@lab.example"], MESSAGE)] * 3)
    assert all(isinstance(r, str) for r in results) and len(box) == 3
    assert os.listdir(box.path / "tmp") == []
