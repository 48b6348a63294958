"""The Sweeps screen's reader rebuilds only what changed, and never shows what is gone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import optuna
import pytest
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep import storage as storage_mod
from densexp_tui.sweep.reader import StudyReader, StudyView
from densexp_tui.sweep.trialcache import TrialCache
from tests.sweep.study_factory import write_study

pytestmark = pytest.mark.timeout(120)
LR: dict[str, BaseDistribution] = {"train.learning_rate": FloatDistribution(1e-5, 1e-2,
                                                                            log=True)}


def _view(reader: StudyReader, name: str, since: tuple[int, int] | None) -> StudyView:
    snap = reader.snapshot("", name, since)
    assert snap.selected is not None and not snap.problem, snap.problem
    return snap.selected


def _state(view: StudyView, cells: tuple[str, ...]) -> str:
    return cells[view.header.index("state")]


def test_new_trials_come_as_the_only_change(tmp_path: Path) -> None:
    study = write_study(tmp_path, "grow", 5)
    reader = StudyReader(RunStore(tmp_path))
    first = _view(reader, "grow", None)
    assert first.changed.since is None and len(first.changed.changed) == 5
    assert _view(reader, "grow", first.drawn).changed.changed == []  # nothing new: nothing
    study.add_trial(create_trial(params={"train.learning_rate": 1e-3},
                                 distributions=LR, value=0.7))
    grown = _view(reader, "grow", first.drawn)
    assert grown.changed.since == first.drawn[1] and grown.changed.epoch == first.drawn[0]
    assert [c[0] for c in grown.changed.changed] == ["5"]
    assert [c[0] for c in grown.cells] == [str(n) for n in range(6)]
    assert grown.info.n_trials == 6 and grown.info.finished == 6


def test_a_running_trial_that_finishes_is_redrawn(tmp_path: Path) -> None:
    study = write_study(tmp_path, "live", 3, running=1)
    reader = StudyReader(RunStore(tmp_path))
    first = _view(reader, "live", None)
    assert _state(first, first.cells[3]) == "running" and first.info.running == 1
    running = next(t for t in study.get_trials() if t.state == TrialState.RUNNING)
    study.tell(running.number, 0.95)
    done = _view(reader, "live", first.drawn)
    assert [c[0] for c in done.changed.changed] == ["3"]  # only that trial
    row = done.changed.changed[0]
    assert _state(done, row) == "complete" and row[done.header.index("value")] == "0.9500"
    assert done.info.running == 0 and done.info.best == pytest.approx(0.95)
    assert done.best_points[-1] == (3.0, 0.95)  # the curve follows


def test_only_unfinished_trials_are_rebuilt() -> None:
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage)
    for value in (0.1, 0.2):
        study.add_trial(create_trial(params={"x": 1.0}, distributions={
            "x": FloatDistribution(0, 2)}, value=value))
    running = study.ask({"x": FloatDistribution(0, 2)})
    cache = TrialCache(0)
    start = dt.datetime.now()
    assert cache.update(study.get_trials(deepcopy=False), start)
    seen = cache.revision
    # A second later only the running trial's clock moved.
    assert cache.update(study.get_trials(deepcopy=False), start + dt.timedelta(seconds=1))
    changed = cache.delta((cache.epoch, seen)).changed
    assert [c[0] for c in changed] == [str(running.number)]
    seen = cache.revision
    study.tell(running, 0.3)
    cache.update(study.get_trials(deepcopy=False), start + dt.timedelta(seconds=2))
    final = cache.revision
    assert not cache.update(study.get_trials(deepcopy=False), start + dt.timedelta(seconds=9))
    assert cache.revision == final and cache.delta((cache.epoch, final)).changed == []
    assert [c[0] for c in cache.delta((cache.epoch, seen)).changed] == [str(running.number)]


def test_a_study_made_again_under_its_name_is_drawn_whole_without_its_old_trials(
        tmp_path: Path) -> None:
    write_study(tmp_path, "again", 8)
    reader = StudyReader(RunStore(tmp_path))
    first = _view(reader, "again", None)
    storage_mod.journal_path(tmp_path, "again").unlink()
    assert reader.snapshot("", "again", first.drawn).selected is None  # gone: not shown
    write_study(tmp_path, "again", 2)
    again = _view(reader, "again", first.drawn)
    assert again.changed.epoch != first.drawn[0] and again.changed.since is None
    assert [c[0] for c in again.cells] == ["0", "1"] and again.info.n_trials == 2


def test_a_study_deleted_in_its_storage_is_dropped(tmp_path: Path) -> None:
    write_study(tmp_path, "keep", 2)
    write_study(tmp_path, "drop", 3)
    reader = StudyReader(RunStore(tmp_path))
    first = _view(reader, "drop", None)
    spec = storage_mod.parse_storage(None, tmp_path, "drop")
    optuna.delete_study(study_name="drop", storage=storage_mod.open_storage(spec))
    snap = reader.snapshot("", "drop", first.drawn)
    assert snap.selected is None or snap.selected.info.name != "drop"
    names = {s.name: s.n_trials for s in snap.studies}
    assert names["keep"] == 2 and names.get("drop", 0) == 0  # no stale count of 3


def test_a_retried_failed_trial_says_so_when_its_retry_arrives_later() -> None:
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    distributions: dict[str, BaseDistribution] = {"x": FloatDistribution(0, 2)}
    study.add_trial(create_trial(params={"x": 1.0}, distributions=distributions,
                                 state=TrialState.FAIL))
    cache = TrialCache(0)
    cache.update(study.get_trials(deepcopy=False))
    seen = cache.revision
    study.add_trial(create_trial(params={"x": 1.0}, distributions=distributions, value=0.5,
                                 user_attrs={"retry_of": 0}))
    cache.update(study.get_trials(deepcopy=False))
    changed = {c[0]: c for c in cache.delta((cache.epoch, seen)).changed}
    assert set(changed) == {"0", "1"} and "worker died; retried" in changed["0"][1]


def test_a_new_searched_key_redraws_every_row() -> None:
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    study.add_trial(create_trial(params={"x": 1.0}, distributions={
        "x": FloatDistribution(0, 2)}, value=0.1))
    cache = TrialCache(0)
    cache.update(study.get_trials(deepcopy=False))
    before = (cache.epoch, cache.revision)
    study.add_trial(create_trial(params={"x": 1.0, "y": 0.5}, distributions={
        "x": FloatDistribution(0, 2), "y": FloatDistribution(0, 1)}, value=0.2))
    cache.update(study.get_trials(deepcopy=False))
    delta = cache.delta(before)
    assert cache.keys == ["x", "y"] and delta.since is None and len(delta.changed) == 2
    assert delta.changed[0][:5] == ("0", "complete", "0.1000", "1", "")


def test_a_database_storage_is_read_incrementally_too(tmp_path: Path) -> None:
    """The RDB storage (SQLite here, PostgreSQL alike) caches finished trials itself; the
    reader's rows follow a running trial that completes and a new one there as well."""
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = optuna.create_study(study_name="db", storage=url, direction="maximize")
    study.add_trial(create_trial(params={"train.learning_rate": 1e-3}, distributions=LR,
                                 value=0.5))
    running = study.ask(LR)
    reader = StudyReader(RunStore(tmp_path / "runs"))
    snap = reader.snapshot(url, "db")
    assert snap.selected is not None and not snap.problem, snap.problem
    first = snap.selected
    assert [s.name for s in snap.studies] == ["db"] and first.info.running == 1
    study.tell(running, 0.8)
    study.add_trial(create_trial(params={"train.learning_rate": 2e-3}, distributions=LR,
                                 value=0.6))
    later = reader.snapshot(url, "db", first.drawn).selected
    assert later is not None and later.changed.since == first.drawn[1]
    assert [(c[0], _state(later, c)) for c in later.changed.changed] == [
        ("1", "complete"), ("2", "complete")]
    assert later.info.best == pytest.approx(0.8) and later.info.finished == 3
