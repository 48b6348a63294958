"""The one reader of TOML the user writes (core/tomlfile.py): one line per problem, raised as
the caller's BadInput kind; and a stored config's tables, or nothing, for the views."""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.core.errors import BadInput, ConfigError
from densexp_tui.core.tomlfile import read_toml_mapping, toml_tables_or_empty

pytestmark = pytest.mark.timeout(30)


class OwnError(BadInput):
    """Stands for UserConfigError, ThemeError: the callers' own kinds."""


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p: None, "file not found"),
    (lambda p: p.mkdir(), "is a folder; allowed: a .toml file"),
    (lambda p: p.write_bytes(b"a = 1\n\xff\n"), "not UTF-8 (byte 6); allowed: a UTF-8 TOML file"),
    (lambda p: p.write_text("a = \n"), "not valid TOML"),
])
def test_each_problem_is_one_line_of_the_callers_kind(tmp_path: Path, make, reason: str) -> None:
    path = tmp_path / "x.toml"
    make(path)
    with pytest.raises(OwnError) as caught:
        read_toml_mapping(path, OwnError)
    assert str(caught.value).startswith(f"{path}: {reason}") and "\n" not in str(caught.value)


def test_run_tomls_get_config_errors_and_a_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_bytes(b"\xef\xbb\xbf[train]\nepochs = 2\n")
    assert read_toml_mapping(path) == {"train": {"epochs": 2}}
    with pytest.raises(ConfigError):
        read_toml_mapping(tmp_path / "missing.toml")


def test_a_stored_config_that_is_not_toml_shows_as_empty() -> None:
    assert toml_tables_or_empty("[model]\nname = 'mlp'\n") == {"model": {"name": "mlp"}}
    assert toml_tables_or_empty("[model\n") == {}
