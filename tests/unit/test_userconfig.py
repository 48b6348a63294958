"""core/userconfig.py: defaults, parsing, one-line errors, init never overwrites."""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.cli import main
from densexp_tui.core.userconfig import (
    TEMPLATE,
    UserConfig,
    UserConfigError,
    check_keymap_ids,
    load_user_config,
    load_user_config_or_defaults,
    save_queue_per_gpu,
)

pytestmark = pytest.mark.timeout(30)


@pytest.fixture()
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cfg"
    monkeypatch.setenv("DENSEXP_CONFIG_DIR", str(folder))
    monkeypatch.delenv("DENSEXP_RUNS_DIR", raising=False)
    return folder


def test_no_file_gives_defaults(config_dir: Path) -> None:
    config = load_user_config()
    assert (config.theme, config.runs_dir, config.notifications, config.keymap) == \
        (None, None, True, {})
    assert config.queue_per_gpu is False  # one run at a time unless the user asks
    assert config.path == config_dir / "config.toml"


def test_the_template_parses_to_the_defaults(config_dir: Path) -> None:
    assert main(["config", "init"]) == 0
    path = config_dir / "config.toml"
    assert path.read_text() == TEMPLATE
    assert load_user_config() == UserConfig(path=path)


def test_init_refuses_to_overwrite(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_dir.mkdir()
    (config_dir / "config.toml").write_text("theme = 'mine'\n")
    assert main(["config", "init"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert (config_dir / "config.toml").read_text() == "theme = 'mine'\n"


def test_path_prints_where(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(config_dir / "config.toml")


def test_values_are_read(config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "config.toml").write_text(
        'theme = "nord"\nruns_dir = "~/r"\nnotifications = false\n[queue]\nper_gpu = true\n'
        '[keymap]\n"home.new" = " ctrl+n , f5 "\n"home.help" = "?"\n')
    config = load_user_config()
    assert (config.theme, config.runs_dir, config.notifications) == ("nord", "~/r", False)
    assert config.queue_per_gpu is True
    assert config.keymap == {"home.new": "ctrl+n,f5", "home.help": "?"}


@pytest.mark.parametrize(("text", "named"), [
    ("theme = [\n", "not valid TOML"),
    ("colour = 1\n", "colour: unknown setting"),
    ("notifications = 1\n", "notifications: must be true or false"),
    ("runs_dir = ''\n", "runs_dir: must be a non-empty string"),
    ("keymap = 'x'\n", "keymap: must be a table"),
    ('[keymap]\n"home.new" = 5\n', "keymap.home.new: must be a string"),
    ('[keymap]\n"home.new" = "ctrl+"\n', "keymap.home.new: 'ctrl+' is not a key"),
    ("queue = 2\n", "queue: must be a table"),
    ("[queue]\nper_gpu = 'yes'\n", "queue.per_gpu: must be true or false"),
    ("[queue]\nparallel = true\n", "queue.parallel: unknown setting; allowed: per_gpu"),
])
def test_bad_files_are_one_line_naming_file_and_key(config_dir: Path, text: str,
                                                    named: str) -> None:
    config_dir.mkdir()
    path = config_dir / "config.toml"
    path.write_text(text)
    config, problem = load_user_config_or_defaults()
    assert config == UserConfig(path=path)
    assert problem is not None and "\n" not in problem
    assert problem.startswith(f"{path}: ") and named in problem


def test_unknown_ids_are_named_with_a_suggestion(tmp_path: Path) -> None:
    config = UserConfig(keymap={"home.nwe": "x", "home.new": "y"}, path=tmp_path / "c.toml")
    (problem,) = check_keymap_ids(config, {"home.new", "home.quit"})
    assert problem == (f"{tmp_path / 'c.toml'}: keymap.home.nwe: no key binding has this id; "
                       "did you mean 'home.new'?")


def test_runs_dir_default_comes_from_the_user_config(config_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config_dir.mkdir()
    (config_dir / "config.toml").write_text(f'runs_dir = "{tmp_path / "mine"}"\n')
    assert main(["runs", "--json"]) == 0
    capsys.readouterr()
    assert main(["report", "nope", "--out", str(tmp_path / "r.html")]) == 2
    assert str(tmp_path / "mine") in capsys.readouterr().err


def test_a_file_that_is_not_utf8_is_named_with_the_byte(config_dir: Path) -> None:
    config_dir.mkdir()
    path = config_dir / "config.toml"
    path.write_bytes('theme = "nord"\n# caf\xe9\n'.encode("latin-1"))
    config, problem = load_user_config_or_defaults()
    assert config == UserConfig(path=path)
    assert problem is not None
    assert problem.startswith(f"{path}: not UTF-8 (byte 20); allowed: a UTF-8 TOML file")


def test_a_byte_order_mark_is_read_like_the_run_tomls(config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "config.toml").write_bytes(b'\xef\xbb\xbftheme = "nord"\n')
    assert load_user_config().theme == "nord"


MINE = ('# my settings\ntheme = "nord"  # dark\nnotifications = false\n\n[queue]\n'
        'per_gpu = false  # until the new box\n\n[keymap]\n"home.new" = "ctrl+n"\n')


def test_switching_per_gpu_changes_that_line_only(config_dir: Path) -> None:
    config_dir.mkdir()
    path = config_dir / "config.toml"
    path.write_text(MINE)
    assert save_queue_per_gpu(True) == path
    assert path.read_text() == MINE.replace("per_gpu = false", "per_gpu = true")
    save_queue_per_gpu(False)
    assert path.read_text() == MINE


@pytest.mark.parametrize(("text", "kept"), [
    ('theme = "nord"\n', "# nothing else"),  # no [queue]: the table is added at the end
    ('theme = "nord"\n[queue]\n[keymap]\n"home.new" = "f5"', "# nothing else"),  # no line
    ('theme = "nord"\nqueue = { per_gpu = false }\n', ""),  # inline: rewritten, keys kept
    ('theme = "nord"\nqueue.per_gpu = false\n', ""),  # dotted: likewise
])
def test_other_layouts_keep_every_setting(config_dir: Path, text: str, kept: str) -> None:
    config_dir.mkdir()
    path = config_dir / "config.toml"
    path.write_text(f"{kept}\n{text}" if kept else text)
    save_queue_per_gpu(True)
    config = load_user_config()
    assert config.queue_per_gpu is True and config.theme == "nord"
    assert kept in path.read_text()
    if "keymap" in text:
        assert config.keymap == {"home.new": "f5"}


def test_no_file_yet_becomes_the_template_with_the_setting(config_dir: Path) -> None:
    path = save_queue_per_gpu(True)
    assert path.read_text() == TEMPLATE.replace("per_gpu = false", "per_gpu = true")
    assert load_user_config().queue_per_gpu is True


def test_a_file_the_app_cannot_use_is_not_rewritten(config_dir: Path) -> None:
    config_dir.mkdir()
    path = config_dir / "config.toml"
    for broken in ("theme = [\n", "colour = 1\n"):
        path.write_text(broken)
        with pytest.raises(UserConfigError, match=str(path)):
            save_queue_per_gpu(True)
        assert path.read_text() == broken
    assert [p.name for p in config_dir.iterdir()] == ["config.toml"]  # no temp file left
