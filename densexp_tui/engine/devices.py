"""Where a run trains: one device, or several under ``tf.distribute.MirroredStrategy``.

``device.device`` (checked for shape by core/fieldspecs.py) means:

- ``auto``      gpu:0 when TensorFlow sees a GPU, else the CPU (TensorFlow places ops);
- ``cpu`` / ``gpu`` / ``gpu:N``   one device;
- ``gpu:all`` / ``gpu:0,1``       one run on several GPUs, MirroredStrategy;
- ``cpu:N``     the CPU split into N logical devices under the same strategy, so the
                distributed path can be tried and tested on a machine without GPUs.

Under the strategy the global batch is ``train.batch_size`` (each of R replicas gets about
batch_size / R rows of it) and the learning rate is unchanged, so a distributed run follows
the same schedule and its metrics mean what a single-device run's mean: Keras sums the
per-replica losses scaled by the global batch size.

Logical CPU devices can only be made before TensorFlow initialises its devices, i.e. before
the first op of the process; a process that already ran something keeps what it has (enough
logical CPUs are reused, too few is bad input naming a fresh process as the way out).

Nothing here imports TensorFlow at import time. ``physical_gpus`` is the one place that asks
TensorFlow for GPUs (tests replace it with a fake list).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from densexp_tui.core.config import DeviceSection
from densexp_tui.core.errors import ConfigError

DEVICE_KEY = "device.device"


@dataclass(frozen=True)
class DeviceRequest:
    """``device.device`` parsed: what was asked for, before looking at the machine."""

    kind: str  # auto | cpu | gpu | cpus | gpus
    gpu_ids: tuple[int, ...] | None = None  # gpus: None means every GPU
    n_cpus: int = 1  # cpus: logical CPU devices

    @property
    def distributed(self) -> bool:
        return self.kind in ("cpus", "gpus")


@dataclass
class Placement:
    """Where one run trains, resolved against this machine."""

    label: str  # run_started.device: "cpu", "gpu:0", "cpu:2", "gpu:0,1"
    replicas: list[str]  # the devices the run trains on: ["cpu:0", "cpu:1"]
    device_scope: str | None = None  # tf.device string for a single pinned device
    strategy_devices: list[str] = field(default_factory=list)  # MirroredStrategy devices
    strategy: Any = None  # made by ``context``

    @property
    def distributed(self) -> bool:
        return bool(self.strategy_devices)

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """The scope the model is built, compiled, trained and evaluated in."""
        import tensorflow as tf

        if self.strategy_devices:
            self.strategy = tf.distribute.MirroredStrategy(
                devices=self.strategy_devices, cross_device_ops=_gradient_reduction(
                    self.strategy_devices))
            with self.strategy.scope():
                yield
        elif self.device_scope is not None:
            with tf.device(self.device_scope):
                yield
        else:
            yield


def _gradient_reduction(devices: list[str]) -> Any:
    """How replicas sum their gradients. MirroredStrategy's default, collective all-reduce,
    fails on transformer models whose embedding gradients are sparse (IndexedSlices of a
    different length on each replica: "Shape mismatch in the collective instance"). NCCL
    (GPUs) and reduction to one device (CPUs) gather sparse gradients instead."""
    import tensorflow as tf

    if all("gpu" in device.lower() for device in devices):
        return tf.distribute.NcclAllReduce()
    return tf.distribute.ReductionToOneDevice()


def parse_device(text: str) -> DeviceRequest:
    """The request ``text`` names (its shape was checked when the config loaded)."""
    if text in ("auto", "cpu", "gpu"):
        return DeviceRequest(text, gpu_ids=(0,) if text == "gpu" else None)
    kind, _, rest = text.partition(":")
    if kind == "cpu":
        n_cpus = int(rest)
        if n_cpus < 1:
            raise ConfigError(f"{text!r} names no device; allowed: cpu:N with N >= 1",
                              key=DEVICE_KEY)
        return DeviceRequest("cpus", n_cpus=n_cpus)
    if rest == "all":
        return DeviceRequest("gpus")
    ids = tuple(int(part) for part in rest.split(","))
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{text!r} names a GPU twice; allowed: each GPU once",
                          key=DEVICE_KEY)
    return DeviceRequest("gpus" if len(ids) > 1 else "gpu", gpu_ids=ids)


def needs_gpus(text: str) -> bool:
    """True when ``device.device`` = ``text`` names a GPU (auto falls back to the CPU), i.e.
    when checking it needs the GPU count; a shape-checked string, TensorFlow not imported."""
    return text.partition(":")[0] == "gpu"


def check_device(text: str, n_gpus: int) -> None:
    """ConfigError unless ``text`` can be had on a machine with ``n_gpus`` GPUs: the same
    checks ``select_placement`` makes, without TensorFlow (``densexp sweep`` runs them on
    every device a trial may ask for before any trial starts)."""
    request = parse_device(text)
    if request.kind in ("gpu", "gpus"):
        choose_gpus(request, n_gpus)


def physical_gpus() -> list[Any]:
    """The GPUs TensorFlow sees in this process (after CUDA_VISIBLE_DEVICES)."""
    import tensorflow as tf

    return list(tf.config.list_physical_devices("GPU"))


def choose_gpus(request: DeviceRequest, n_gpus: int) -> list[int]:
    """The GPU indices a gpu request trains on; ConfigError when one is not there."""
    wanted = request.gpu_ids
    name = "gpu:all" if wanted is None else "gpu:" + ",".join(map(str, wanted))
    if n_gpus == 0:
        raise ConfigError(f"{name} was requested but TensorFlow sees no GPU; allowed here: "
                          "auto, cpu or cpu:N", key=DEVICE_KEY)
    if wanted is None:
        return list(range(n_gpus))
    missing = [index for index in wanted if index >= n_gpus]
    if missing:
        raise ConfigError(f"gpu:{missing[0]} does not exist ({n_gpus} GPU(s)); allowed: "
                          f"gpu:0 to gpu:{n_gpus - 1}, gpu:all", key=DEVICE_KEY)
    return list(wanted)


def select_placement(device: DeviceSection) -> Placement:
    """Resolve ``device`` on this machine; ConfigError (bad input) when it cannot be had."""
    request = parse_device(device.device)
    if request.kind == "cpus":
        placement = _cpu_placement(request.n_cpus)
    elif request.kind == "cpu":
        placement = Placement("cpu", ["cpu:0"], device_scope="/CPU:0")
    else:
        placement = _gpu_placement(request)
    if device.mixed_precision != "off" and placement.label.startswith("cpu"):
        raise ConfigError(f"mixed precision {device.mixed_precision} needs a GPU and this run "
                          "is on the CPU; allowed on CPU: off", key="device.mixed_precision")
    return placement


def _gpu_placement(request: DeviceRequest) -> Placement:
    n_gpus = len(physical_gpus())
    if request.kind == "auto":
        if n_gpus:
            return Placement("gpu:0", ["gpu:0"])
        return Placement("cpu", ["cpu:0"])
    ids = choose_gpus(request, n_gpus)
    replicas = [f"gpu:{index}" for index in ids]
    if request.kind == "gpu":
        return Placement(replicas[0], replicas, device_scope=f"/GPU:{ids[0]}")
    return Placement("gpu:" + ",".join(map(str, ids)), replicas,
                     strategy_devices=[f"/gpu:{index}" for index in ids])


def _cpu_placement(n_cpus: int) -> Placement:
    logical = ensure_logical_cpus(n_cpus)
    replicas = [f"cpu:{index}" for index in range(n_cpus)]
    return Placement(f"cpu:{n_cpus}", replicas, strategy_devices=logical[:n_cpus])


def ensure_logical_cpus(n_cpus: int) -> list[str]:
    """Split the CPU into ``n_cpus`` logical devices (their names); once TensorFlow has
    started its devices the split cannot change, so what exists is used if it suffices."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n_cpus)])
    except RuntimeError:  # devices already initialised in this process
        pass
    names = [device.name for device in tf.config.list_logical_devices("CPU")]
    if len(names) < n_cpus:
        raise ConfigError(
            f"cpu:{n_cpus} needs {n_cpus} logical CPU devices, but TensorFlow in this process "
            f"already started with {len(names)}; allowed: run it in a fresh process "
            "(densexp run, or detach it)", key=DEVICE_KEY)
    return names


def visible_gpus_env() -> str | None:
    """CUDA_VISIBLE_DEVICES as this process got it (a sweep worker sees only its GPU)."""
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def describe_devices(placement: Placement) -> dict[str, Any]:
    """What run_started and the summary record about devices."""
    return {"replicas": list(placement.replicas), "visible_gpus": visible_gpus_env()}



def load_weights(model: Any, path: str) -> None:
    """``model.load_weights(path)``, which also works inside MirroredStrategy's scope.

    tf_keras hands the file's h5py datasets straight to ``variable.assign``; a SUM-aggregated
    sync-on-read variable (the total and count of every compiled metric) divides the value
    by the number of replicas before converting it, and an h5py dataset cannot be divided
    ("unsupported operand type(s) for /: 'Dataset' and 'int'"). Reading the arrays out of the
    file first makes exactly the same assignments.
    """
    import tensorflow as tf

    if not tf.distribute.has_strategy():
        model.load_weights(path)
        return
    from tf_keras.src.saving import saving_lib

    original = saving_lib.H5IOStore.get

    def get_arrays(store: Any, inner_path: str) -> Any:
        found = original(store, inner_path)
        if not hasattr(found, "keys"):
            return found
        return {key: found[key][()] for key in found}  # h5py groups iterate their keys

    saving_lib.H5IOStore.get = get_arrays
    try:
        model.load_weights(path)
    finally:
        saving_lib.H5IOStore.get = original
