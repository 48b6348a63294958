"""The user's own config: ``config.toml`` in the user config dir (platformdirs).

Holds the theme at start, the default runs directory, whether a run's end is announced
(notifications), whether the app's run queue trains one run per GPU at once (``[queue]
per_gpu``), and a keymap that rebinds any key binding by its id. The file is the
user's: the app changes one line of it only, ``[queue] per_gpu``, when the user switches it
in the palette's "Run queue" entry (:func:`save_queue_per_gpu`: every other setting and
comment kept, written atomically); the theme picked in the app is remembered separately, in
settings.toml. Reading it never raises for the app: a broken file gives the defaults and
one line saying why; ``check_keymap`` names each unknown id or bad key.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

import tomli_w

from densexp_tui.core.atomicfile import write_text_atomic
from densexp_tui.core.errors import BadInput
from densexp_tui.core.tomlfile import read_toml_mapping, read_toml_text

CONFIG_DIR_ENV = "DENSEXP_CONFIG_DIR"
USER_CONFIG_FILE = "config.toml"
KNOWN_KEYS = ("theme", "runs_dir", "notifications", "queue", "keymap")
QUEUE_KEYS = ("per_gpu",)
# A Textual key: modifiers joined by "+" and a key name ("ctrl+n", "f5", "question_mark",
# "X") or one printable character ("?").
KEY_PATTERN = re.compile(
    r"^((ctrl|shift|alt|meta|super|hyper)\+)*([A-Za-z0-9_]+|[!-~])$")

TEMPLATE = '''\
# densexp user config. Every setting is optional: delete a line to get the default.
# `densexp config path` prints where this file is.

# The colour theme at start (overrides the one picked with `t` in the app).
# Built in: densexp-dark, densexp-light, textual-dark, textual-light, nord, gruvbox, ...
# theme = "densexp-dark"

# Where runs live when neither --runs-dir nor $DENSEXP_RUNS_DIR says (default: ./runs).
# runs_dir = "~/densexp-runs"

# When a run or a sweep ends while you look at another screen: a notification, the
# terminal bell and a desktop notification (OSC 9, 99 or 777, the one your terminal reads;
# $DENSEXP_DESKTOP_NOTIFY=osc9|osc99|osc777|0 chooses; in tmux: set -g allow-passthrough on).
notifications = true

# The app's run queue. per_gpu = true: on a machine with several GPUs, up to one queued run
# per GPU trains at once, each in its own `densexp run` process that sees only its GPU
# (CUDA_VISIBLE_DEVICES). Without a GPU the queue runs one at a time, as by default.
# The app's command palette (ctrl+p) entry "Run queue" switches it (this line only).
[queue]
per_gpu = false

# Rebind any key by its binding id (the help screen, F1, lists the keys; ids look like
# "home.new" or "dashboard.export_report"). Several keys: "x,ctrl+e".
[keymap]
# "home.new" = "ctrl+n"
# "home.export_report" = "ctrl+e"
'''


class UserConfigError(BadInput):
    """The user config file is unusable (the app then starts with the defaults)."""


@dataclass
class UserConfig:
    theme: str | None = None
    runs_dir: str | None = None
    notifications: bool = True
    queue_per_gpu: bool = False  # [queue] per_gpu
    keymap: dict[str, str] = field(default_factory=dict)
    path: Path | None = None


def config_dir() -> Path:
    """Where settings, themes and config.toml live ($DENSEXP_CONFIG_DIR in tests)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs  # only here: the app's start does not pay for it twice

    return Path(platformdirs.user_config_dir("densexp", appauthor=False))


def user_config_path() -> Path:
    return config_dir() / USER_CONFIG_FILE


def load_user_config(path: Path | None = None) -> UserConfig:
    """The user config (defaults when there is no file); UserConfigError for a bad one."""
    path = path or user_config_path()
    if not path.is_file():
        return UserConfig(path=path)
    return parse_user_config(read_toml_mapping(path, UserConfigError), path)


def load_user_config_or_defaults(path: Path | None = None) -> tuple[UserConfig, str | None]:
    """For the app: never raises; a bad file gives the defaults and the one-line reason."""
    try:
        return load_user_config(path), None
    except UserConfigError as err:
        return UserConfig(path=path or user_config_path()), f"{err}; using the defaults"


def parse_user_config(mapping: dict[str, Any], path: Path) -> UserConfig:
    for key in mapping:
        if key not in KNOWN_KEYS:
            raise UserConfigError(f"unknown setting; allowed: {', '.join(KNOWN_KEYS)}",
                                  file=path, key=key)
    config = UserConfig(path=path)
    config.theme = _optional_string(mapping, "theme", path)
    config.runs_dir = _optional_string(mapping, "runs_dir", path)
    notifications = mapping.get("notifications", True)
    if not isinstance(notifications, bool):
        raise UserConfigError("must be true or false", file=path, key="notifications")
    config.notifications = notifications
    config.queue_per_gpu = _queue_per_gpu(mapping.get("queue", {}), path)
    config.keymap = _keymap(mapping.get("keymap", {}), path)
    return config


def _optional_string(mapping: dict[str, Any], key: str, path: Path) -> str | None:
    value = mapping.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UserConfigError("must be a non-empty string", file=path, key=key)
    return value


def _queue_per_gpu(table: Any, path: Path) -> bool:
    if not isinstance(table, dict):
        raise UserConfigError("must be a table: [queue] then per_gpu = true or false",
                              file=path, key="queue")
    for key in table:
        if key not in QUEUE_KEYS:
            raise UserConfigError(f"unknown setting; allowed: {', '.join(QUEUE_KEYS)}",
                                  file=path, key=f"queue.{key}")
    per_gpu = table.get("per_gpu", False)
    if not isinstance(per_gpu, bool):
        raise UserConfigError("must be true or false", file=path, key="queue.per_gpu")
    return per_gpu


def _keymap(table: Any, path: Path) -> dict[str, str]:
    if not isinstance(table, dict):
        raise UserConfigError('must be a table: [keymap] then "binding.id" = "key"',
                              file=path, key="keymap")
    keymap: dict[str, str] = {}
    for binding_id, keys in table.items():
        if not isinstance(keys, str):
            raise UserConfigError('must be a string of keys, e.g. "ctrl+n" or "x,ctrl+e"',
                                  file=path, key=f"keymap.{binding_id}")
        for key in _split_keys(keys):
            if not KEY_PATTERN.match(key):
                raise UserConfigError(
                    f"{key!r} is not a key; write e.g. \"ctrl+n\", \"f5\", \"x\"",
                    file=path, key=f"keymap.{binding_id}")
        keymap[binding_id] = ",".join(_split_keys(keys))
    return keymap


def _split_keys(keys: str) -> list[str]:
    parts = [part.strip() for part in keys.split(",")]
    return [part for part in parts if part] or [""]


def check_keymap_ids(config: UserConfig, known_ids: set[str]) -> list[str]:
    """One line per keymap id that no binding has (with the closest id, when there is one)."""
    import difflib

    problems = []
    for binding_id in config.keymap:
        if binding_id in known_ids:
            continue
        close = difflib.get_close_matches(binding_id, sorted(known_ids), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; the help screen (F1) lists ids"
        problems.append(f"{config.path}: keymap.{binding_id}: no key binding has this id{hint}")
    return problems


def save_queue_per_gpu(on: bool, path: Path | None = None) -> Path:
    """Set ``[queue] per_gpu`` in the user config file; returns the file's path.

    Only that value changes: the file's own ``per_gpu`` line is edited in place (or the line
    or the ``[queue]`` table added), so the other settings and the comments stay. A layout
    the line edit cannot handle (an inline or dotted ``queue``) is written out again from
    its settings, which keeps every key but not the comments. No file yet: the commented
    template with the setting. Written atomically; UserConfigError, nothing written, when
    the file is not one the app can use (fix it first) or cannot be written.
    """
    path = path or user_config_path()
    text = read_toml_text(path, UserConfigError) if path.exists() else TEMPLATE
    settings = _toml_or_error(text, path)
    parse_user_config(settings, path)  # a file the app would not use is not rewritten
    wanted = {**settings, "queue": {**settings.get("queue", {}), "per_gpu": on}}
    edited = _with_per_gpu_line(text, on)
    try:
        same = tomllib.loads(edited) == wanted
    except tomllib.TOMLDecodeError:
        same = False
    try:
        write_text_atomic(path, edited if same else tomli_w.dumps(wanted))
    except OSError as exc:
        raise UserConfigError(f"cannot write ({exc.strerror or exc})", file=path) from None
    return path


def _toml_or_error(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserConfigError(f"not valid TOML ({exc})", file=path) from None


_TABLE_HEADER = re.compile(r"^\s*\[")  # "[table]" or "[[array]]": the next table starts
_QUEUE_HEADER = re.compile(r"^\s*\[\s*queue\s*\]\s*(#.*)?$")
_PER_GPU_LINE = re.compile(r"^(\s*per_gpu\s*=\s*)(true|false)(\s*(#.*)?)$")


def _with_per_gpu_line(text: str, on: bool) -> str:
    """``text`` with [queue]'s per_gpu line set to ``on`` (added if it has none)."""
    value = "true" if on else "false"
    if text and not text.endswith("\n"):
        text += "\n"
    lines = text.splitlines(keepends=True)
    in_queue, queue_header = False, None
    for index, line in enumerate(lines):
        body = line.rstrip("\r\n")
        if _TABLE_HEADER.match(body):
            in_queue = bool(_QUEUE_HEADER.match(body))
            queue_header = index if in_queue else queue_header
            continue
        found = _PER_GPU_LINE.match(body) if in_queue else None
        if found:
            lines[index] = f"{found.group(1)}{value}{found.group(3)}{line[len(body):]}"
            return "".join(lines)
    if queue_header is not None:
        lines.insert(queue_header + 1, f"per_gpu = {value}\n")
        return "".join(lines)
    return f"{text}\n[queue]\nper_gpu = {value}\n"


def write_template(path: Path | None = None) -> Path:
    """``densexp config init``: a commented config; never overwrites an existing file."""
    path = path or user_config_path()
    if path.exists():
        raise BadInput(f"{path}: exists already; edit it, or delete it first")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:  # "x": a race cannot overwrite
            handle.write(TEMPLATE)
    except FileExistsError:
        raise BadInput(f"{path}: exists already; edit it, or delete it first") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path
