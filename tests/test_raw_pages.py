"""Raw responses, one file per account (issue 12, lean outputs): every page an account's collection read
is one gzip-compressed JSON line of ``pages.jsonl.gz`` (its description and its body), written as read;
a run kept before, with two files per page, is still read."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import pytest

from socialaudit.calendars import CalendarError, kept_reader
from socialaudit.raw import FAILED, PAGES, RawArchive, folder_name, kept_page, page_body


def _reader(folder: Path):  # type: ignore[no-untyped-def]
    def get(name: str) -> bytes | None:
        path = folder / name
        return path.read_bytes() if path.is_file() else None

    return get


BODIES = [b'{"id": "1", "text": "Caf\\u00e9 \xc3\xa9 \xe2\x80\x94 ok"}', b"\xff\xfe\x00binary\x80", b"",
          "<rss><title>Harvest \u2014 Festival</title></rss>".encode()]


def test_every_page_of_an_account_is_one_line_of_one_file(tmp_path):
    account = RawArchive(tmp_path).for_account("mastodon", "@staidans@i-1.example")
    for page, body in enumerate(BODIES):
        account.save_raw(platform="mastodon", account="@staidans@i-1.example", page=page,
                         url=f"https://i-1.example/api/v1/x?max_id={page}&token=secret", body=body,
                         content_type="application/json")
    assert [p.name for p in account.folder.iterdir()] == [PAGES]
    lines = [json.loads(line) for line in gzip.decompress((account.folder / PAGES).read_bytes()).splitlines()]
    assert [line["page"] for line in lines] == [0, 1, 2, 3]
    assert all(line["url"] == "https://i-1.example/api/v1/x" for line in lines)  # never the query (tokens)
    assert [page_body(line) for line in lines] == BODIES
    assert [line["bytes"] for line in lines] == [len(b) for b in BODIES]
    assert "body_base64" in lines[1] and "body" in lines[0]  # text when UTF-8, else base64
    for page, body in enumerate(BODIES):
        assert kept_page(_reader(account.folder), "", page) == body
    assert kept_page(_reader(account.folder), "", 9) is None


def test_a_retried_attempt_starts_the_file_again_and_a_failure_drops_it(tmp_path):
    raw = RawArchive(tmp_path)
    first = raw.for_account("rss", "https://a.example/feed")
    for page in range(3):
        first.save_raw(platform="rss", account="a", page=page, url="u", body=b"first %d" % page, content_type="x")
    second = raw.for_account("rss", "https://a.example/feed")  # the retry's
    second.save_raw(platform="rss", account="a", page=0, url="u", body=b"second", content_type="x")
    assert kept_page(_reader(second.folder), "", 0) == b"second"
    assert kept_page(_reader(second.folder), "", 1) is None
    raw.for_account("rss", "https://a.example/feed").save_failure(platform="rss", account="a", url="u", reason="down")
    assert sorted(p.name for p in second.folder.iterdir()) == [FAILED]
    again = raw.for_account("rss", "https://a.example/feed")
    again.save_raw(platform="rss", account="a", page=0, url="u", body=b"back", content_type="x")
    assert sorted(p.name for p in again.folder.iterdir()) == [PAGES]  # the failure is not what this attempt read
    again.clear()
    assert list(again.folder.iterdir()) == []


def test_pages_read_on_several_threads_are_each_kept_once(tmp_path):
    account = RawArchive(tmp_path).for_account("bluesky", "school.bsky.example")

    def save(page: int) -> None:
        account.save_raw(platform="bluesky", account="s", page=page, url="u", body=b"page %d" % page * 200,
                         content_type="application/json")

    threads = [threading.Thread(target=save, args=(page,)) for page in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = [json.loads(line) for line in gzip.decompress((account.folder / PAGES).read_bytes()).splitlines()]
    assert sorted(line["page"] for line in lines) == list(range(40))
    assert all(page_body(line) == b"page %d" % line["page"] * 200 for line in lines)


def test_a_run_kept_before_with_two_files_a_page_is_still_read(tmp_path):
    """Runs archived before the change hold page-NNNN.body.gz and page-NNNN.json: replay reads them."""
    folder = tmp_path / "calendar" / folder_name("https://a.example/cal.ics")
    folder.mkdir(parents=True)
    (folder / "page-0000.body.gz").write_bytes(gzip.compress(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", mtime=0))
    (folder / "page-0000.json").write_text('{"page": 0}', encoding="utf-8")
    get = _reader(tmp_path)
    assert kept_page(get, f"calendar/{folder.name}/") == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    assert kept_reader(get, missing="gone")("https://a.example/cal.ics").startswith(b"BEGIN:VCALENDAR")


@pytest.mark.parametrize("content", [b"", b"not gzip", gzip.compress(b"{broken\n"), gzip.compress(b"[1, 2]\n"),
                                     gzip.compress(b'{"page": 0}\n'), gzip.compress(b'{"page": 0, "body_base64": "!!"}\n'),
                                     gzip.compress(b"[" * 100_000 + b"\n"), gzip.compress(b"x" * 100)[:-5]])
def test_a_damaged_pages_file_is_a_calendar_that_cannot_be_read_not_a_traceback(tmp_path, content):
    folder = tmp_path / "calendar" / folder_name("https://a.example/cal.ics")
    folder.mkdir(parents=True)
    (folder / PAGES).write_bytes(content)
    read = kept_reader(_reader(tmp_path), missing="not kept")
    with pytest.raises(CalendarError):
        read("https://a.example/cal.ics")
