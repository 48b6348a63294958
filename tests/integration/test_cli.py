"""The ``densexp`` command: exit codes, bad input, headless runs, listings, Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from densexp_tui.cli import main
from densexp_tui.core.events import read_events
from densexp_tui.core.runstore import RunStore

pytestmark = pytest.mark.slow

WINE = '[run]\nname = "wine"\n[data]\nname = "wine"\n[model]\nname = "mlp"\n' \
       '[train]\nepochs = 3\nbatch_size = 16\nlearning_rate = 0.01\nlog_every_steps = 2\n'
CSV = "text,label\n" + "".join(f"text number {i},{'a' if i % 2 else 'b'}\n" for i in range(40))


def _config(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _run_dirs(runs: Path) -> list[Path]:
    return [p for p in runs.iterdir() if not p.name.startswith(".")] if runs.exists() else []


# -- bad input: exit 2, one line, no run directory ----------------------------------------


@pytest.mark.parametrize("case, files, args, fragment", [
    ("missing-dataset", {"run.toml": '[data]\nsource = "csv"\npath = "gone.csv"\n'}, [],
     "gone.csv"),
    ("missing-column",
     {"run.toml": '[data]\nsource = "csv"\npath = "d.csv"\ntext_column = "body"\n',
                        "d.csv": CSV}, [], "no column 'body'"),
    ("bad-toml", {"run.toml": "[train\nepochs = 1\n"}, [], "not valid TOML"),
    ("bad-set", {"run.toml": WINE}, ["--set", "train.learnig_rate=1"], "did you mean"),
    ("runs-dir-under-a-file", {"run.toml": WINE, "afile": "a regular file"},
     ["--runs-dir", "afile/runs"], "cannot write runs"),
    ("gpu-without-gpu", {"run.toml": WINE + '[device]\ndevice = "gpu"\n'}, [], "no GPU"),
    ("fp16-on-cpu", {"run.toml": WINE + '[device]\ndevice = "cpu"\nmixed_precision = "float16"\n'},
     [], "needs a GPU"),
])
def test_bad_input_exits_2_with_one_line_and_no_run(case: str, files: dict[str, str],
                                                    args: list[str], fragment: str,
                                                    tmp_path: Path, runs_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    if case in ("gpu-without-gpu", "fp16-on-cpu"):
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            pytest.skip("this machine has a GPU")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "run.toml", *args])
    out, err = capsys.readouterr()

    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("densexp: "), err
    assert fragment in lines[0] and "Traceback" not in err + out
    assert _run_dirs(runs_dir) == []
    if case == "runs-dir-under-a-file":
        assert (tmp_path / "afile").read_text() == "a regular file"


# -- runs that train ----------------------------------------------------------------------


def test_run_then_runs_and_show(tmp_path: Path, runs_dir: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(_config(tmp_path, WINE)), "--set", "train.epochs=2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "completed" in out and "test: loss" in out and "best epoch" in out

    assert main(["runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert len(runs) == 1 and runs[0]["status"] == "completed" and runs[0]["epochs_done"] == 2

    assert main(["show", "wine", "--json"]) == 0
    detail = json.loads(capsys.readouterr().out)
    assert [e["epoch"] for e in detail["epochs"]] == [1, 2]
    assert detail["config"]["train"]["epochs"] == 2 and "precision" in detail["test"]["report"]
    assert 0 < detail["trainable_fraction"] <= 1
    assert detail["padding_efficiency"] is None  # an MLP counts no tokens

    assert main(["show", runs[0]["run_id"][:20]]) == 0
    text = capsys.readouterr().out
    assert "macro avg" in text and "config.toml" in text and "val F1" in text

    assert main(["runs"]) == 0
    assert runs[0]["run_id"] in capsys.readouterr().out

    # An mlp is no Hugging Face model: export refuses in one line.
    assert main(["export", "wine", "--merged", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Hugging Face" in err


def test_run_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(_config(tmp_path, WINE)), "--json", "--set", "train.epochs=1"])
    out = capsys.readouterr().out
    result = json.loads(out)
    assert code == 0 and result["status"] == "completed" and result["test"]["accuracy"] > 0


def test_failed_run_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    diverging = ["--set", "train.optimizer=sgd", "--set", "train.learning_rate=10",
                 "--set", "train.grad_clip_norm=0", "--set", "train.lr_schedule=constant",
                 "--set", "train.epochs=5"]
    assert main(["run", str(_config(tmp_path, WINE)), *diverging]) == 1
    assert "diverged" in capsys.readouterr().out


def test_unknown_run_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "no-such-run"]) == 2
    assert "no run matches 'no-such-run'" in capsys.readouterr().err


def test_catalog_commands_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "--json"]) == 0
    names = [d["name"] for d in json.loads(capsys.readouterr().out)]
    assert {"reviews", "wine", "imdb"} <= set(names)
    assert main(["models", "--json"]) == 0
    assert {"tiny-bert", "mlp"} <= {m["name"] for m in json.loads(capsys.readouterr().out)}


# -- the real command in a subprocess: the terminal sees only our output -------------------


def _densexp(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "densexp_tui", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_headless_run_keeps_library_output_in_log_txt(tmp_path: Path, runs_dir: Path) -> None:
    proc = _densexp("run", str(_config(tmp_path, WINE)))
    out, err = proc.communicate(timeout=240)

    assert proc.returncode == 0, err
    assert err == ""  # no TensorFlow/absl/transformers line reached the terminal
    for noise in ("tensorflow", "absl", "oneDNN", "cuda", "WARNING"):
        assert noise not in out, out
    (run_dir,) = _run_dirs(runs_dir)
    log = (run_dir / "log.txt").read_text()
    assert log.strip(), "the libraries printed nothing? then this test proves nothing"


def test_ctrl_c_cancels_cleanly(tmp_path: Path, runs_dir: Path) -> None:
    endless = WINE.replace('name = "wine"\n[model]', 'name = "digits"\n[model]') \
                  .replace("epochs = 3", "epochs = 500").replace("log_every_steps = 2",
                                                                 "log_every_steps = 1")
    proc = _densexp("run", str(_config(tmp_path, endless)))
    try:
        _wait_for_first_step(runs_dir, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "cancelled" in out
    (summary,) = RunStore(runs_dir).list_runs()
    assert summary.status == "cancelled" and summary.finished
    events = read_events(runs_dir / summary.run_id / "events.jsonl")
    assert events.skipped == 0 and events.events[-1].kind == "run_finished"


def _wait_for_first_step(runs: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for events in runs.glob("*/events.jsonl") if runs.exists() else []:
            if any(e.kind == "step" for e in read_events(events).events):
                return
        time.sleep(0.2)
    raise AssertionError("no step event within the timeout")
