"""A sweep whose trials would ask for a device this machine lacks is bad input up front:
one line naming where the value came from, exit 2, no run and no trial, for ``densexp sweep``
in process and with ``--workers N`` / ``--gpus LIST``. The GPU count is a stand-in."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

import pytest

from densexp_tui.cli import main
from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep import workers
from densexp_tui.sweep.cli_workers import workers_command
from densexp_tui.sweep.study import load_local_study
from tests.sweep.conftest import write_sweep

pytestmark = pytest.mark.timeout(60)

LR_SPACE = '[space]\n"train.learning_rate" = {low = 1e-5, high = 1e-1, log = true}\n'


def _sweep_on(tmp_path: Path, base_device: str | None, space_devices: list[str] | None) -> Path:
    """A sweep named "dev": the base's device.device and/or a [space] choice over it."""
    space = LR_SPACE
    if space_devices is not None:
        space += '"device.device" = [' + ", ".join(f'"{d}"' for d in space_devices) + "]\n"
    sweep = write_sweep(tmp_path, '[sweep]\nname = "dev"\nn_trials = 2\n' + space)
    if base_device is not None:
        base = tmp_path / "base.toml"
        base.write_text(base.read_text() + f'[device]\ndevice = "{base_device}"\n')
    return sweep


def _assert_refused_and_nothing_made(code: int, err: str, runs: Path, *words: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("densexp: "), err
    assert all(word in lines[0] for word in words), lines[0]
    assert "Traceback" not in err
    assert not runs.exists() or RunStore(runs).list_runs() == []
    study = load_local_study(RunStore(runs), "dev") if runs.exists() else None
    assert study is None or study.get_trials(deepcopy=False) == []


@pytest.mark.parametrize(("base", "space", "gpus", "words"), [
    ("gpu:3", None, 0, ["base.device.device", "gpu:3", "TensorFlow sees no GPU",
                        "allowed here: auto, cpu or cpu:N"]),
    ("gpu:3", None, 2, ["base.device.device", "gpu:3 does not exist (2 GPU(s))",
                        "allowed: gpu:0 to gpu:1, gpu:all"]),
    (None, ["cpu", "gpu:all"], 0, ["space.device.device", "gpu:all", "sees no GPU"]),
    ("gpu:5", ["cpu", "gpu:0,2"], 2, ["space.device.device", "gpu:2 does not exist"]),
])
def test_densexp_sweep_refuses_a_device_that_is_not_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        base: str | None, space: list[str] | None, gpus: int, words: list[str]) -> None:
    monkeypatch.setattr(workers, "count_gpus", lambda: gpus)
    runs = tmp_path / "runs"
    code = main(["sweep", str(_sweep_on(tmp_path, base, space)), "--runs-dir", str(runs)])
    _assert_refused_and_nothing_made(code, capsys.readouterr().err, runs, *words)


def test_workers_refuse_a_missing_gpu_before_any_worker_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(workers, "count_gpus", lambda: 0)
    runs = tmp_path / "runs"
    sweep = _sweep_on(tmp_path, "gpu:3", None)
    code = main(["sweep", str(sweep), "--runs-dir", str(runs), "--workers", "2"])
    _assert_refused_and_nothing_made(code, capsys.readouterr().err, runs, "base.device.device",
                                     "gpu:3", "sees no GPU")


def test_each_gpus_worker_has_one_gpu_so_a_second_one_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    sweep = _sweep_on(tmp_path, None, ["gpu:0", "gpu:1"])
    args = Namespace(config=sweep, storage=None, n_trials=None, runs_dir=str(runs),
                     workers=None, gpus="0,1", json=False)
    code = workers_command(args, command_for=lambda plan: ["false"], gpu_count=lambda: 2)
    _assert_refused_and_nothing_made(code, capsys.readouterr().err, runs, "space.device.device",
                                     "gpu:1 does not exist (1 GPU(s))",
                                     "each --gpus worker sees only its own GPU")


def test_devices_without_a_gpu_are_checked_without_asking_for_the_gpu_count(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """cpu, cpu:N and auto need no GPU count (asking loads TensorFlow in a child)."""
    from densexp_tui.core.sweepconfig import load_sweep
    from densexp_tui.sweep.devicecheck import check_sweep_devices, requested_devices

    def no_asking() -> int:
        raise AssertionError("the GPU count was asked for")

    cfg = load_sweep(_sweep_on(tmp_path, "gpu:7", ["auto", "cpu", "cpu:2"]))
    # The space chooses the device, so the base's gpu:7 is never used by a trial.
    assert [value for _, value in requested_devices(cfg)] == ["auto", "cpu", "cpu:2"]
    check_sweep_devices(cfg, no_asking)
