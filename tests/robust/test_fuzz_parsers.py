"""Property-based tests: the config loader and the event reader never fall over on bad input."""

from __future__ import annotations

import json
import math
import string
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from densexp_tui.core.config import (
    FIELD_SPECS,
    SECTION_TYPES,
    ConfigError,
    RunConfig,
    config_to_dict,
    load_config,
    parse_config,
    read_toml_mapping,
)
from densexp_tui.core.events import EventWriter, read_events

KNOWN_SECTIONS = list(SECTION_TYPES)
KNOWN_KEYS = sorted({path.split(".")[1] for path in FIELD_SPECS})

toml_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(string.ascii_letters + "_.", max_size=12), inner, max_size=4),
    ),
    max_leaves=10,
)
section_tables = st.dictionaries(
    st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12)), toml_values, max_size=8
)
def _value_of_kind(key_path: str) -> st.SearchStrategy[Any]:
    """Values a key's spec might accept: its choices, or any value of its kind."""
    spec = FIELD_SPECS[key_path]
    if spec.choices:
        return st.sampled_from(spec.choices) | st.text(max_size=8)
    return {
        "bool": st.booleans(),
        "int": st.integers(min_value=-5, max_value=5000),
        "float": st.floats(min_value=-1.0, max_value=10.0),
        "str": st.text(max_size=12),
        "list[str]": st.lists(st.sampled_from(["query", "value", "swap", "x"]), max_size=3),
        "list[int]": st.lists(st.integers(min_value=-2, max_value=64), max_size=3),
    }[spec.kind]


# Known keys with values of their own kind: many of these are accepted, so the properties
# below check what the loader accepts, not only what it rejects.
plausible_configs = st.lists(st.sampled_from(sorted(FIELD_SPECS)), max_size=6).flatmap(
    lambda paths: st.fixed_dictionaries({p: _value_of_kind(p) for p in paths})
).map(lambda flat: _nest(flat))
configs = st.dictionaries(
    st.one_of(st.sampled_from(KNOWN_SECTIONS), st.text(max_size=10)),
    st.one_of(section_tables, toml_values),
    max_size=6,
) | plausible_configs


def _nest(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nested: dict[str, dict[str, Any]] = {}
    for key_path, value in flat.items():
        section, key = key_path.split(".", 1)
        nested.setdefault(section, {})[key] = value
    return nested


def _has_kind(kind: str, value: Any) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return number and float(value).is_integer()
    if kind == "float":
        return number and math.isfinite(value)
    if kind == "str":
        return isinstance(value, str)
    item = str if kind == "list[str]" else int
    return isinstance(value, list) and all(
        isinstance(v, item) and not isinstance(v, bool) for v in value
    )


def _assert_accepted_rightly(mapping: Any, cfg: RunConfig) -> None:
    """An accepted mapping holds only known keys with values of their kind, and it is kept."""
    assert isinstance(mapping, dict)
    for section, table in mapping.items():
        assert section in SECTION_TYPES and isinstance(table, dict), section
        for key, value in table.items():
            key_path = f"{section}.{key}"
            spec = FIELD_SPECS.get(key_path)
            assert spec is not None, f"accepted unknown key {key_path}"
            assert _has_kind(spec.kind, value), f"accepted {key_path} = {value!r}"
            assert not spec.choices or value in spec.choices, f"accepted {key_path} = {value!r}"
            assert cfg.get(key_path) == value, f"{key_path}: {value!r} became {cfg.get(key_path)!r}"
    again = parse_config(config_to_dict(cfg), source="again.toml")
    assert config_to_dict(again) == config_to_dict(cfg)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_config_loader_only_raises_its_own_error(mapping: dict[str, Any]) -> None:
    try:
        cfg = parse_config(mapping, source="fuzz.toml")
    except ConfigError as err:
        message = str(err)
        assert "\n" not in message and message.startswith("fuzz.toml")
        return
    _assert_accepted_rightly(mapping, cfg)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | configs.map(lambda m: _toml_bytes(m)))
def test_config_file_loader_only_raises_its_own_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(content)
    try:
        cfg = load_config(path)
    except ConfigError as err:
        assert "\n" not in str(err)
        return
    _assert_accepted_rightly(read_toml_mapping(path), cfg)


def _toml_bytes(mapping: dict[str, Any]) -> bytes:
    try:
        return tomli_w.dumps(mapping).encode()
    except (TypeError, ValueError):
        return b"[run]\nname = 3\n"


_REAL_LOG: list[bytes] = []


def _write_real_log(path: Path, n_events: int = 40) -> list[bytes]:
    """A log written by the real writer, made once so every example sees the same bytes."""
    if _REAL_LOG:
        path.write_bytes(b"".join(_REAL_LOG))
        return list(_REAL_LOG)
    with EventWriter(path) as writer:
        writer.append("run_started", run_id="r", labels=["a", "b"], params={"trainable": 1})
        for step in range(1, n_events):
            if step % 10 == 0:
                writer.append("epoch", epoch=step // 10,
                              val={"loss": 0.5, "confusion": [[1, 2], [3, 4]]})
            else:
                writer.append("step", epoch=1, step=step, loss=1.0 / step, accuracy=0.5)
    _REAL_LOG.extend(path.read_bytes().splitlines(keepends=True))
    return list(_REAL_LOG)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_event_reader_survives_truncation(tmp_path: Path, data: st.DataObject) -> None:
    path = tmp_path / "events.jsonl"
    lines = _write_real_log(path)
    whole = b"".join(lines)
    cut = data.draw(st.integers(min_value=0, max_value=len(whole)))
    path.write_bytes(whole[:cut])
    log = read_events(path)
    intact = _lines_fully_before(lines, cut)
    expected = [json.loads(line)["seq"] for line in intact]
    assert [e.seq for e in log.events[: len(intact)]] == expected
    assert len(log.events) in (len(intact), len(intact) + 1)  # +1: cut right after a '}'
    assert log.skipped <= 1


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_event_reader_survives_byte_corruption(tmp_path: Path, data: st.DataObject) -> None:
    path = tmp_path / "events.jsonl"
    lines = _write_real_log(path)
    whole = bytearray(b"".join(lines))
    position = data.draw(st.integers(min_value=0, max_value=len(whole) - 1))
    whole[position] = data.draw(st.integers(min_value=0, max_value=255))
    path.write_bytes(bytes(whole))
    log = read_events(path)
    intact = _lines_fully_before(lines, position)
    returned = [e.seq for e in log.events]
    assert returned[: len(intact)] == [json.loads(line)["seq"] for line in intact]
    damaged_lines = [line for line in bytes(whole).split(b"\n") if line.strip()]
    assert len(log.events) + log.skipped == len(damaged_lines)


def _lines_fully_before(lines: list[bytes], offset: int) -> list[bytes]:
    taken, end = [], 0
    for line in lines:
        end += len(line)
        if end > offset:
            break
        taken.append(line)
    return taken
