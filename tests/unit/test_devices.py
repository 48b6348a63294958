"""Device selection against fake GPU lists: which devices a run trains on, and bad input.

``engine.devices.physical_gpus`` is the one function that asks TensorFlow for GPUs; these
tests replace it, so they run (without TensorFlow) on a machine with no GPU.
"""

from __future__ import annotations

import pytest

from densexp_tui.core.config import DeviceSection
from densexp_tui.core.errors import ConfigError
from densexp_tui.engine import devices

pytestmark = pytest.mark.timeout(30)


def _with_gpus(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    fake = [f"PhysicalDevice(name='/physical_device:GPU:{i}')" for i in range(count)]
    monkeypatch.setattr(devices, "physical_gpus", lambda: fake)


def _placement(device: str, mixed_precision: str = "off") -> devices.Placement:
    return devices.select_placement(DeviceSection(device=device,
                                                  mixed_precision=mixed_precision))


def test_gpu_all_mirrors_over_every_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_gpus(monkeypatch, 4)
    placement = _placement("gpu:all")
    assert placement.label == "gpu:0,1,2,3"
    assert placement.replicas == ["gpu:0", "gpu:1", "gpu:2", "gpu:3"]
    assert placement.strategy_devices == ["/gpu:0", "/gpu:1", "/gpu:2", "/gpu:3"]


def test_a_gpu_list_mirrors_over_those_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_gpus(monkeypatch, 4)
    placement = _placement("gpu:1,3", mixed_precision="bfloat16")
    assert placement.replicas == ["gpu:1", "gpu:3"] and placement.distributed
    assert placement.label == "gpu:1,3"


@pytest.mark.parametrize(("device", "label", "scope"), [
    ("gpu", "gpu:0", "/GPU:0"), ("gpu:2", "gpu:2", "/GPU:2"), ("cpu", "cpu", "/CPU:0")])
def test_one_device_is_pinned_without_a_strategy(monkeypatch: pytest.MonkeyPatch, device: str,
                                                 label: str, scope: str) -> None:
    _with_gpus(monkeypatch, 3)
    placement = _placement(device)
    assert (placement.label, placement.device_scope) == (label, scope)
    assert placement.replicas == [label if label != "cpu" else "cpu:0"]
    assert not placement.distributed


@pytest.mark.parametrize(("gpus", "label"), [(0, "cpu"), (2, "gpu:0")])
def test_auto_takes_the_first_gpu_or_the_cpu(monkeypatch: pytest.MonkeyPatch, gpus: int,
                                             label: str) -> None:
    _with_gpus(monkeypatch, gpus)
    placement = _placement("auto")
    assert placement.label == label and placement.device_scope is None
    assert not placement.distributed


@pytest.mark.parametrize(("device", "gpus", "words"), [
    ("gpu:all", 0, "sees no GPU"),
    ("gpu:0,1", 0, "sees no GPU"),
    ("gpu:3", 2, "gpu:3 does not exist (2 GPU(s)); allowed: gpu:0 to gpu:1"),
    ("gpu:0,3", 2, "gpu:3 does not exist"),
    ("gpu:1,1", 2, "names a GPU twice"),
])
def test_a_gpu_that_is_not_there_is_bad_input(monkeypatch: pytest.MonkeyPatch, device: str,
                                              gpus: int, words: str) -> None:
    _with_gpus(monkeypatch, gpus)
    with pytest.raises(ConfigError) as caught:
        _placement(device)
    assert words in str(caught.value) and caught.value.key == "device.device"
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("device", "gpus", "words"), [
    ("gpu:all", 0, "sees no GPU"), ("gpu:3", 2, "gpu:3 does not exist (2 GPU(s))"),
    ("gpu:1,1", 2, "names a GPU twice"), ("cpu:0", 0, "names no device"),
])
def test_check_device_refuses_what_select_placement_refuses(
        monkeypatch: pytest.MonkeyPatch, device: str, gpus: int, words: str) -> None:
    """The same refusal as a run gets, against a GPU count given (a sweep checks early)."""
    monkeypatch.setattr(devices, "physical_gpus", lambda: pytest.fail("asked TensorFlow"))
    with pytest.raises(ConfigError) as caught:
        devices.check_device(device, gpus)
    assert words in str(caught.value) and caught.value.key == "device.device"


def test_check_device_accepts_what_is_there_and_says_which_need_a_gpu() -> None:
    for device, gpus in (("auto", 0), ("cpu", 0), ("cpu:4", 0), ("gpu", 1), ("gpu:all", 2),
                         ("gpu:0,1", 2)):
        devices.check_device(device, gpus)
    assert [d for d in ("auto", "cpu", "cpu:2", "gpu", "gpu:1", "gpu:all", "gpu:0,1")
            if devices.needs_gpus(d)] == ["gpu", "gpu:1", "gpu:all", "gpu:0,1"]


def test_mixed_precision_on_split_cpus_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "ensure_logical_cpus",
                        lambda n: [f"/device:CPU:{i}" for i in range(n)])
    with pytest.raises(ConfigError, match="needs a GPU"):
        _placement("cpu:2", mixed_precision="float16")
    assert _placement("cpu:2").replicas == ["cpu:0", "cpu:1"]


def test_parse_device_reads_every_form() -> None:
    assert devices.parse_device("cpu:3") == devices.DeviceRequest("cpus", n_cpus=3)
    assert devices.parse_device("gpu:all") == devices.DeviceRequest("gpus")
    assert devices.parse_device("gpu:0,2").gpu_ids == (0, 2)
    assert devices.parse_device("gpu:1") == devices.DeviceRequest("gpu", gpu_ids=(1,))
    with pytest.raises(ConfigError):
        devices.parse_device("cpu:0")


def test_describe_devices_records_what_the_process_saw(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    placement = devices.Placement("gpu:0", ["gpu:0"], device_scope="/GPU:0")
    assert devices.describe_devices(placement) == {"replicas": ["gpu:0"], "visible_gpus": "5"}


def test_run_view_and_show_say_which_devices_a_run_trained_on() -> None:
    from densexp_tui.core.events import Event
    from densexp_tui.core.runview import RunView, describe_replicas

    view = RunView()
    view.apply(Event(1, 0.0, "run_started", {"device": "cpu:2",
                                             "replicas": ["cpu:0", "cpu:1"]}))
    assert view.header.replicas == ["cpu:0", "cpu:1"]
    assert describe_replicas(view.header.replicas) == "2 replicas (cpu:0, cpu:1)"
    assert describe_replicas(["gpu:0"], "3") == "CUDA_VISIBLE_DEVICES=3"
    assert describe_replicas(["cpu:0"]) == ""
