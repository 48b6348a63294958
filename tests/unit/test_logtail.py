"""core.logtail: the end of a log, whatever its size or encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.core.logtail import tail_lines

pytestmark = pytest.mark.timeout(30)


def test_last_lines_of_a_small_log(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("one\ntwo\nthree\n")
    assert tail_lines(log, 2) == ["two", "three"]
    assert tail_lines(log, 10) == ["one", "two", "three"]


def test_a_big_log_is_read_from_its_end_and_never_shows_half_a_line(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("".join(f"line {i:06d}\n" for i in range(100_000)))
    assert tail_lines(log, 3, max_bytes=100) == ["line 099997", "line 099998", "line 099999"]
    assert all(line.startswith("line ") for line in tail_lines(log, 50, max_bytes=105))


def test_missing_file_and_undecodable_bytes(tmp_path: Path) -> None:
    assert tail_lines(tmp_path / "gone.txt", 5) == [] and tail_lines(None, 5) == []
    log = tmp_path / "log.txt"
    log.write_bytes(b"ok\n\xff\xfe broken\n")
    assert tail_lines(log, 2) == ["ok", "\ufffd\ufffd broken"]
