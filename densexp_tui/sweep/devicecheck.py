"""Before a sweep starts a worker or a trial: every device its trials may ask for is here.

A trial trains on the base config's ``device.device``, or on the value the search space
chose for it. A device this machine lacks would fail every trial that gets it (one failed
run and one failed trial per worker), so the sweep refuses it up front as bad input: one
line naming where the value came from, the value and what is allowed. The checks are those
``densexp run`` makes (engine/devices.py); the GPU count is asked for only when a value names
a GPU, since asking loads TensorFlow (in a child process, ``workers.count_gpus``).
"""

from __future__ import annotations

from collections.abc import Callable

from densexp_tui.core.errors import ConfigError
from densexp_tui.core.sweepconfig import Choices, SweepConfig
from densexp_tui.engine.devices import DEVICE_KEY, check_device, needs_gpus
from densexp_tui.sweep import workers

GpuCount = Callable[[], int]
# What a --gpus worker sees: its own GPU alone, as gpu:0.
ONE_GPU_PER_WORKER = "each --gpus worker sees only its own GPU, as gpu:0"


def requested_devices(cfg: SweepConfig) -> list[tuple[str, str]]:
    """(where, value) of every ``device.device`` a trial can get: the space's choices when
    it searches over the device (the base's value is then never used), else the base's."""
    param = cfg.space.get(DEVICE_KEY)
    if isinstance(param, Choices):
        return [(f"space.{DEVICE_KEY}", str(value)) for value in param.choices]
    return [(f"base.{DEVICE_KEY}", cfg.base.device.device)]


def check_sweep_devices(cfg: SweepConfig, gpu_count: GpuCount | None = None,
                        note: str = "") -> None:
    """ConfigError (one line, key ``base.device.device`` or ``space.device.device``) for the
    first device a trial could ask for that is not on this machine; ``gpu_count`` (default
    ``workers.count_gpus``) is called only when some value names a GPU. ``note`` says why
    the count is what it is (e.g. ONE_GPU_PER_WORKER)."""
    wanted = requested_devices(cfg)
    n_gpus = 0
    if any(needs_gpus(value) for _, value in wanted):
        n_gpus = (gpu_count or workers.count_gpus)()
    for where, value in wanted:
        try:
            check_device(value, n_gpus)
        except ConfigError as err:
            extra = f" ({note})" if note else ""
            raise ConfigError(err.message + extra, file=cfg.source_path, key=where) from None
