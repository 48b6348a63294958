"""--seeds parsing and seed groups."""

from __future__ import annotations

import pytest

from densexp_tui.core.config import parse_config
from densexp_tui.core.errors import BadInput
from densexp_tui.core.seeds import group_name, mean_and_std, parse_seeds, seed_configs

pytestmark = pytest.mark.timeout(30)


def test_seeds_parse_as_distinct_integers():
    assert parse_seeds("1,2, 3") == [1, 2, 3]
    assert parse_seeds("-4") == [-4]


@pytest.mark.parametrize("text, problem", [("1,2,1", "given twice"), ("1,x", "'x' is not"),
                                           ("", "is not an integer"), ("1.5", "not an int")])
def test_bad_seeds_are_one_line_bad_input(text: str, problem: str):
    with pytest.raises(BadInput, match=problem) as err:
        parse_seeds(text)
    assert str(err.value).startswith("--seeds: ")


def test_one_group_per_config_whatever_its_seed():
    cfg = parse_config({"run": {"name": "wine", "seed": 5}})
    configs = seed_configs(cfg, [1, 2])
    assert [c.run.seed for c in configs] == [1, 2]
    assert configs[0].run.group == configs[1].run.group == group_name(cfg)
    assert group_name(cfg).startswith("wine-") and len(group_name(cfg)) == len("wine-") + 6
    other = parse_config({"run": {"name": "wine", "seed": 9}, "train": {"epochs": 7}})
    assert group_name(other) != group_name(cfg)
    named = parse_config({"run": {"name": "wine", "group": "mine"}})
    assert seed_configs(named, [1])[0].run.group == "mine"


def test_mean_and_sample_std():
    assert mean_and_std([1.0, 3.0]) == (2.0, pytest.approx(2 ** 0.5))
    assert mean_and_std([4.0]) == (4.0, 0.0)
