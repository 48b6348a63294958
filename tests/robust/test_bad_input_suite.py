"""Table-driven bad-input suite: every case exits 2 with one line naming the file and the
problem, prints no traceback, creates no run directory and overwrites no existing file."""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from densexp_tui.cli import main

GOOD_CSV = "text,label\n" + "".join(
    f"\"sample {i}, with a comma\",{'pos' if i % 2 else 'neg'}\n" for i in range(40)
)
QUICK_TRAIN = "[train]\nepochs = 1\nbatch_size = 8\n"


@dataclass
class Case:
    id: str
    files: dict[str, str | bytes]  # relative path -> content; "run.toml" is the config
    expect: str  # a fragment the one-line message must contain
    args: list[str] = field(default_factory=list)
    command: str = "run"
    target: str = "run.toml"  # the file the message must name (basename)
    setup: Callable[[Path], None] | None = None


def _csv_config(path: str = "data.csv", extra: str = "") -> str:
    return (f'[data]\nsource = "csv"\npath = "{path}"\n{extra}\n{QUICK_TRAIN}'
            '[model]\nname = "tiny-bert"\n')


def _jsonl_config(path: str = "data.jsonl") -> str:
    return f'[data]\nsource = "jsonl"\npath = "{path}"\n{QUICK_TRAIN}'


def _model_config(name: str) -> str:
    return f'[data]\nsource = "csv"\npath = "data.csv"\n[model]\nname = "{name}"\n{QUICK_TRAIN}'


IRIS_MLP = '[data]\nsource = "builtin"\nname = "iris"\n[model]\nname = "mlp"\n'


def _sweep(space: str, extra: str = "") -> dict[str, str]:
    return {
        "base.toml": IRIS_MLP + QUICK_TRAIN,
        "sweep.toml": f'base = "base.toml"\n{extra}\n[space]\n{space}\n',
    }


CASES = [
    # -- run configs -----------------------------------------------------------------------
    Case("malformed-toml", {"run.toml": "[train\nepochs = 3\n"}, "TOML"),
    Case("unknown-key", {"run.toml": "[train]\nlearnig_rate = 0.1\n"},
         "did you mean learning_rate"),
    Case("unknown-section", {"run.toml": "[trian]\nepochs = 1\n"}, "did you mean [train]"),
    Case("wrong-type", {"run.toml": '[train]\nepochs = "three"\n'}, "train.epochs"),
    Case("negative-lr", {"run.toml": "[train]\nlearning_rate = -0.1\n"}, "train.learning_rate"),
    Case("zero-batch", {"run.toml": "[train]\nbatch_size = 0\n"}, "train.batch_size"),
    Case("fractions-sum", {"run.toml": "[data]\nval_fraction = 0.5\ntest_fraction = 0.5\n"},
         "below 1"),
    Case("bad-optimizer", {"run.toml": '[train]\noptimizer = "adamm"\n'}, "did you mean adam"),
    Case("bad-device", {"run.toml": '[device]\ndevice = "tpu"\n'}, "device.device"),
    Case("bad-lora-target", {"run.toml": '[model]\nfinetune = "lora"\nlora_targets = ["qkv"]\n'},
         "model.lora_targets"),
    Case("config-missing", {}, "not found", target="run.toml"),
    Case("config-not-utf8", {"run.toml": b"[run]\nname = \"caf\xe9\"\n"}, "UTF-8"),
    Case("set-unknown-key", {"run.toml": QUICK_TRAIN}, "unknown key train.epoch",
         args=["--set", "train.epoch=2"], target="--set"),
    Case("set-bad-value", {"run.toml": QUICK_TRAIN}, "train.epochs",
         args=["--set", "train.epochs=-1"], target="--set"),
    Case("bad-run-name", {"run.toml": '[run]\nname = "a/b"\n'}, "run.name"),
    Case("unknown-builtin", {"run.toml": '[data]\nname = "imbd"\n'}, "data.name"),
    Case("csv-without-path", {"run.toml": '[data]\nsource = "csv"\n'}, "data.path"),
    # -- speed keys (issue 10) -------------------------------------------------------------
    Case("pad-multiple-zero", {"run.toml": "[data]\npad_to_multiple_of = 0\n"},
         "data.pad_to_multiple_of"),
    Case("set-pad-multiple-negative", {"run.toml": QUICK_TRAIN}, "data.pad_to_multiple_of",
         args=["--set", "data.pad_to_multiple_of=-8"], target="--set"),
    Case("unknown-batching", {"run.toml": '[data]\nbatching = "sorted"\n'}, "data.batching"),
    Case("unknown-jit-compile", {"run.toml": '[train]\njit_compile = "yes"\n'},
         "train.jit_compile"),
    # -- datasets --------------------------------------------------------------------------
    Case("dataset-missing", {"run.toml": _csv_config("nowhere.csv")}, "nowhere.csv",
         target="nowhere.csv"),
    Case("text-column-missing", {"run.toml": _csv_config(extra='text_column = "body"'),
                                 "data.csv": GOOD_CSV}, "body", target="data.csv"),
    Case("label-column-missing", {"run.toml": _csv_config(extra='label_column = "y"'),
                                  "data.csv": GOOD_CSV}, "label_column", target="data.csv"),
    Case("empty-dataset", {"run.toml": _csv_config(), "data.csv": "text,label\n"}, "no rows",
         target="data.csv"),
    Case("single-class", {"run.toml": _csv_config(),
                          "data.csv": "text,label\n" + "x,a\n" * 30}, "2 different labels",
         target="data.csv"),
    Case("not-utf8-csv", {"run.toml": _csv_config(),
                          "data.csv": "text,label\ncaf\xe9,a\nthe,b\n".encode("latin-1")},
         "UTF-8", target="data.csv"),
    Case("utf16-csv", {"run.toml": _csv_config(),
                       "data.csv": GOOD_CSV.encode("utf-16")}, "UTF-8", target="data.csv"),
    Case("ragged-rows", {"run.toml": _csv_config(),
                         "data.csv": GOOD_CSV + "one,two,three\n"}, "line", target="data.csv"),
    Case("labels-missing", {"run.toml": _csv_config(),
                            "data.csv": GOOD_CSV + "no label here,\n"}, "label",
         target="data.csv"),
    Case("float-labels", {"run.toml": _csv_config(),
                          "data.csv": "text,label\n"
                          + "".join(f"t{i},{i / 7:.3f}\n" for i in range(30))},
         "label", target="data.csv"),
    Case("broken-jsonl", {"run.toml": _jsonl_config(),
                          "data.jsonl": '{"text": "a", "label": "x"}\n{"text": "b", "lab\n'},
         "line", target="data.jsonl"),
    Case("hf-disk-not-a-dataset", {"run.toml": '[data]\nsource = "hf_disk"\npath = "notds"\n',
                                   "notds/readme.txt": "hello"}, "notds", target="notds"),
    Case("keras-imdb-uncached", {"run.toml": '[data]\nsource = "keras"\nname = "imdb"\n'},
         "IMDB is not in the local Keras cache", target=".keras"),
    # -- models ----------------------------------------------------------------------------
    Case("model-dir-without-weights", {"run.toml": _model_config("./my-model"),
                                       "data.csv": GOOD_CSV,
                                       "my-model/config.json": '{"model_type": "bert"}'},
         "weights", target="my-model"),
    Case("hub-id-offline", {"run.toml": _model_config("some-org/not-a-cached-model"),
                            "data.csv": GOOD_CSV}, "not-a-cached-model",
         target="not-a-cached-model"),
    Case("lora-on-mlp",
         {"run.toml": '[data]\nname = "iris"\n[model]\nname = "mlp"\nfinetune = "lora"\n'},
         "model.finetune"),
    # -- levers against overfitting (issue 13) ---------------------------------------------
    Case("augment-unknown-op", {"run.toml": '[data]\naugment = ["swap", "shuffle"]\n'},
         "unknown augment op 'shuffle'"),
    Case("augment-prob-zero", {"run.toml": '[data]\naugment = ["swap"]\naugment_prob = 0.0\n'},
         "data.augment_prob"),
    Case("augment-prob-above-one", {"run.toml": "[data]\naugment_prob = 1.5\n"},
         "data.augment_prob"),
    Case("augment-on-tabular", {"run.toml": '[data]\nname = "wine"\naugment = ["delete"]\n'
                                            '[model]\nname = "mlp"\n'}, "tabular"),
    Case("label-smoothing-one", {"run.toml": "[train]\nlabel_smoothing = 1.0\n"},
         "train.label_smoothing"),
    Case("label-smoothing-negative", {"run.toml": "[train]\nlabel_smoothing = -0.1\n"},
         "train.label_smoothing"),
    Case("fgm-on-mlp", {"run.toml": '[data]\nname = "iris"\n[model]\nname = "mlp"\n'
                                    '[train]\nadversarial = "fgm"\n'}, "tabular data has none"),
    # -- runs directory --------------------------------------------------------------------
    Case("runs-dir-under-a-file",
         {"run.toml": '[data]\nname = "iris"\n[model]\nname = "mlp"\n' + QUICK_TRAIN,
          "afile": "not a folder"},
         "cannot write runs", args=["--runs-dir", "afile/runs"], target="afile"),
    # -- sweeps ----------------------------------------------------------------------------
    Case("sweep-unknown-key", _sweep('"train.learnig_rate" = {low = 0.001, high = 0.1}'),
         "train.learnig_rate", command="sweep", target="sweep.toml"),
    Case("sweep-low-above-high", _sweep('"train.learning_rate" = {low = 0.1, high = 0.01}'),
         "low", command="sweep", target="sweep.toml"),
    Case("sweep-log-nonpositive",
         _sweep('"train.learning_rate" = {low = 0.0, high = 0.1, log = true}'),
         "log", command="sweep", target="sweep.toml"),
    Case("sweep-empty-choices", _sweep('"train.batch_size" = []'), "empty", command="sweep",
         target="sweep.toml"),
    Case("sweep-bad-objective", _sweep('"train.batch_size" = [8, 16]', 'objective = "val.auc"'),
         "objective", command="sweep", target="sweep.toml"),
    Case("sweep-unreachable-storage", _sweep('"train.batch_size" = [8, 16]'), "127.0.0.1:9",
         args=["--storage", "postgresql://densexp:s3cret@127.0.0.1:9/db"], command="sweep",
         target="127.0.0.1"),
]


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_with_one_line(case: Case, tmp_path: Path, monkeypatch, capsys) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for rel, content in case.files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # an empty Keras and HF cache
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home" / "hf"))
    runs = tmp_path / "runs"
    before = _tree_digest(work)

    target_file = "sweep.toml" if case.command == "sweep" else "run.toml"
    argv = [case.command, target_file, *case.args]
    if "--runs-dir" not in case.args:
        argv += ["--runs-dir", str(runs)]
    code = main(argv)
    captured = capsys.readouterr()

    assert code == 2, captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    message = lines[0]
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    assert case.expect in message, message
    assert case.target in message, message
    assert "s3cret" not in message
    assert not runs.exists() or not [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert _tree_digest(work) == before


def _mount_tmpfs(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                            capture_output=True)
    return result.returncode == 0


@pytest.fixture
def small_fs(tmp_path: Path):
    mounts: list[Path] = []

    def make(options: str) -> Path:
        path = tmp_path / f"fs{len(mounts)}"
        if os.geteuid() != 0 or not _mount_tmpfs(path, options):
            pytest.skip("needs root to mount a tmpfs (CI and the dev machines run as root)")
        mounts.append(path)
        return path

    yield make
    for path in mounts:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.mark.parametrize("kind", ["full", "read-only"])
def test_runs_dir_on_a_full_or_read_only_filesystem(kind: str, small_fs, tmp_path: Path,
                                                    monkeypatch, capsys) -> None:
    if kind == "full":
        fs = small_fs("size=64k")
        (fs / "runs").mkdir()
        fd = os.open(fs / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass  # the filesystem is full now
        finally:
            os.close(fd)
    else:
        fs = small_fs("size=1m,ro")
    config = tmp_path / "run.toml"
    config.write_text('[data]\nname = "iris"\n[model]\nname = "mlp"\n' + QUICK_TRAIN)
    code = main(["run", str(config), "--runs-dir", str(fs / "runs")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "cannot write runs" in err
    assert not (fs / "runs").exists() or not list((fs / "runs").iterdir())


# -- ensembles (issue 13): the members exist, so "nothing created" means no new run ----------

def _ensemble_members(runs: Path, kind: str) -> list[str]:
    import numpy as np

    from densexp_tui.core.runstore import RunStore
    from tests.unit.ensemble_runs import finished_run, random_probs, true_labels

    store = RunStore(runs)
    true = true_labels(30)
    first = finished_run(store, "a", random_probs(30, 3, 1), true)
    if kind == "one-run":
        return [first, first]
    if kind == "other-labels":
        other = finished_run(store, "b", random_probs(30, 3, 2), true,
                             labels=("bad", "good", "meh"))
    elif kind == "other-seed":  # the split follows run.seed: another seed, another split
        other = finished_run(store, "b", random_probs(30, 3, 2), true, overrides=["run.seed=8"])
    elif kind == "other-split":
        other = finished_run(store, "b", random_probs(30, 3, 2), true,
                             rows=np.arange(30) + 100)
    else:  # other-size
        other = finished_run(store, "b", random_probs(20, 3, 2), true[:20])
    return [first, other]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind, expect", [("one-run", "ensemble of one run"),
                                          ("other-labels", "different label sets"),
                                          ("other-seed", "split seed 42 vs 8"),
                                          ("other-split", "different test splits"),
                                          ("other-size", "different test splits")])
def test_bad_ensembles_exit_2_with_one_line(kind: str, expect: str, tmp_path: Path,
                                           capsys) -> None:
    runs = tmp_path / "runs"
    members = _ensemble_members(runs, kind)
    before = sorted(p.name for p in runs.iterdir())
    code = main(["ensemble", *members, "--runs-dir", str(runs)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and expect in lines[0], captured.err
    assert "Traceback" not in captured.err
    assert sorted(p.name for p in runs.iterdir()) == before
