"""A runs directory that does not exist (a mistyped --runs-dir): the commands that look a
run up say so in one line, exit 2 and create nothing; `densexp runs` says the folder is not
there instead of only "no runs".

Found trying `densexp show x --runs-dir /nonexistent/r`, which said "no run matches 'x'" as
if the folder held other runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.cli import main

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("command", [["show", "x"], ["compare", "a", "b"], ["replay", "x"],
                                     ["resume", "x"]])
def test_looking_a_run_up_in_a_missing_runs_dir_names_the_folder(
        tmp_path: Path, capfd: pytest.CaptureFixture[str], command: list[str]) -> None:
    missing = tmp_path / "rusn"
    assert main([*command, "--runs-dir", str(missing)]) == 2
    err = capfd.readouterr().err.strip().splitlines()  # replay writes to fd 2 itself
    assert len(err) == 1
    assert str(missing) in err[0] and "runs directory does not exist" in err[0]
    assert not missing.exists()


def test_listing_a_missing_runs_dir_says_the_folder_is_not_there(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "rusn"
    assert main(["runs", "--runs-dir", str(missing)]) == 0
    assert "(no such folder yet)" in capsys.readouterr().err
    assert not missing.exists()


def test_an_empty_runs_dir_is_just_empty(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "no runs in" in err and "no such folder" not in err
