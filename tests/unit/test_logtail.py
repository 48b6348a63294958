"""core.logtail: the end of a log, whatever its size or encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.core.logtail import LogFollower, tail_lines

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


def test_follower_starts_at_the_end_of_a_long_log_then_returns_only_new_lines(
        tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("".join(f"old line {i}\n" for i in range(1000)))
    follower = LogFollower(log, initial_bytes=30)
    first = follower.read_new_lines()
    assert first is not None and first[-1] == "old line 999"
    assert all(line.startswith("old line ") for line in first)  # no cut-off line
    assert "old line 0" not in first
    assert follower.read_new_lines() == []
    with open(log, "a") as handle:
        handle.write("new one\nhalf")
    assert follower.read_new_lines() == ["new one"]  # "half" waits for its newline
    with open(log, "a") as handle:
        handle.write(" done\n")
    assert follower.read_new_lines() == ["half done"]


def test_follower_says_missing_then_starts_over_after_a_truncation(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    follower = LogFollower(log)
    assert follower.read_new_lines() is None
    log.write_text("a\nb\n")
    assert follower.read_new_lines() == ["a", "b"]
    log.write_text("c\n")  # shorter than what was read: rotated
    assert follower.read_new_lines() == ["c"]
