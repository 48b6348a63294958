"""A theme file (themes/*.toml, or the user's) is read like every other TOML the user writes
(core/tomlfile.py): the same one-line reasons, as a ThemeError."""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.tui.themes import ThemeError, load_theme_file

pytestmark = pytest.mark.timeout(30)
REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_theme_files_load() -> None:
    assert load_theme_file(REPO / "themes" / "densexp-dark.toml").name == "densexp-dark"


@pytest.mark.parametrize(("content", "reason"), [
    (b'primary = "#7AA2F7\n', "not valid TOML"),
    (b'primary = "#7AA2F7"\n# caf\xe9\n', "not UTF-8 (byte 25); allowed: a UTF-8 TOML file"),
])
def test_a_broken_theme_file_is_one_line_naming_it(tmp_path: Path, content: bytes,
                                                   reason: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_bytes(content)
    with pytest.raises(ThemeError) as caught:
        load_theme_file(path)
    assert str(caught.value).startswith(f"{path}: {reason}")
    assert "\n" not in str(caught.value)


def test_a_folder_named_like_a_theme_is_refused(tmp_path: Path) -> None:
    (tmp_path / "odd.toml").mkdir()
    with pytest.raises(ThemeError, match="is a folder; allowed: a .toml file"):
        load_theme_file(tmp_path / "odd.toml")
