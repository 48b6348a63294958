"""CPU, RAM and (when present) GPU use, sampled by a thread every couple of seconds.

psutil is quick, but ``nvidia-smi`` takes 50-300 ms, so sampling lives in a thread worker that
posts a ``SystemSample`` message; the widget only draws. The worker samples only while the
widget is on screen (its tab is open): a GPU box in the middle of training should not spawn
nvidia-smi every two seconds for a hidden panel. Without nvidia-smi (or without a GPU) the
GPU line is hidden for good after the first failed try.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass

import psutil
from rich.text import Text
from textual import work
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget
from textual.worker import get_current_worker

from densexp_tui.tui.widgets.class_table import bar
from densexp_tui.tui.widgets.palette import fg, muted_color, series_color

SAMPLE_SECONDS = 2.0
NVIDIA_SMI_QUERY = ["--query-gpu=utilization.gpu,memory.used,memory.total",
                    "--format=csv,noheader,nounits"]


@dataclass
class GpuSample:
    index: int
    utilization: float
    memory_used_mb: float
    memory_total_mb: float


@dataclass
class Sample:
    cpu_percent: float
    cpu_count: int
    ram_used: int
    ram_total: int
    process_rss: int
    gpus: list[GpuSample] | None  # None: no GPU (or no nvidia-smi)


def parse_nvidia_smi(output: str) -> list[GpuSample]:
    """Lines like "45, 3210, 16384" (utilization %, memory used MiB, memory total MiB)."""
    gpus = []
    for index, line in enumerate(output.strip().splitlines()):
        parts = [part.strip() for part in line.split(",")]
        try:
            utilization, used, total = (float(p) for p in parts[:3])
        except ValueError:
            continue  # "[N/A]" on some boards: skip that GPU
        gpus.append(GpuSample(index, utilization, used, total))
    return gpus


def query_gpus(executable: str | None) -> list[GpuSample] | None:
    if executable is None:
        return None
    try:
        done = subprocess.run([executable, *NVIDIA_SMI_QUERY], capture_output=True, text=True,
                              timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_nvidia_smi(done.stdout) or None


def take_sample(process: psutil.Process, nvidia_smi: str | None) -> Sample:
    memory = psutil.virtual_memory()
    return Sample(
        cpu_percent=psutil.cpu_percent(interval=None),
        cpu_count=psutil.cpu_count() or 1,
        ram_used=memory.total - memory.available,
        ram_total=memory.total,
        process_rss=process.memory_info().rss,
        gpus=query_gpus(nvidia_smi),
    )


def gigabytes(count: float) -> str:
    return f"{count / 1024 ** 3:.1f} GB"


class SystemMetrics(Widget):
    """CPU, RAM (machine and this process) and GPU lines with bars."""

    DEFAULT_CSS = """
    SystemMetrics {
        height: auto;
        width: 1fr;
        padding: 1 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    class SystemSample(Message):
        def __init__(self, sample: Sample) -> None:
            super().__init__()
            self.sample = sample

    def __init__(self, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.sample: Sample | None = None
        self.samples_taken = 0
        # Set while the widget is shown; the worker reads it (an Event is thread-safe).
        self._shown = threading.Event()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())
        self.sample_forever()

    def on_show(self) -> None:
        self._shown.set()

    def on_hide(self) -> None:
        self._shown.clear()

    @work(thread=True, exclusive=True, group="system-metrics", exit_on_error=False)
    def sample_forever(self) -> None:
        """Worker: sample, post, sleep; never touches the widget itself."""
        worker = get_current_worker()
        process = psutil.Process(os.getpid())
        nvidia_smi = shutil.which("nvidia-smi")
        psutil.cpu_percent(interval=None)  # the first reading is meaningless: prime it
        while not worker.is_cancelled:
            if not self._shown.wait(0.2):
                continue  # hidden: no sampling, but notice cancellation quickly
            sample = take_sample(process, nvidia_smi)
            if sample.gpus is None:
                nvidia_smi = None  # absent or failing: stop spawning it every 2 s
            self.post_message(self.SystemSample(sample))
            deadline = time.monotonic() + SAMPLE_SECONDS
            while time.monotonic() < deadline and not worker.is_cancelled:
                time.sleep(0.1)

    def on_system_metrics_system_sample(self, message: SystemSample) -> None:
        self.sample = message.sample
        self.samples_taken += 1
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        gpus = self.sample.gpus if self.sample and self.sample.gpus else []
        return 2 + len(gpus) * 2 if self.sample else 1

    def render(self) -> Text:
        if self.sample is None:
            return Text("measuring…", style=fg(muted_color(self.app)))
        sample = self.sample
        width = max(10, min(30, (self.content_size.width or 60) - 40))
        lines = [
            self._bar_line("CPU ", sample.cpu_percent / 100, width,
                           f"{sample.cpu_percent:.0f}% of {sample.cpu_count} cores", 0),
            self._bar_line("RAM ", sample.ram_used / max(1, sample.ram_total), width,
                           f"{gigabytes(sample.ram_used)} / {gigabytes(sample.ram_total)}"
                           f" · densexp {sample.process_rss / 1024 ** 2:.0f} MB", 1),
        ]
        for gpu in sample.gpus or []:
            lines.append(self._bar_line(f"GPU{gpu.index}", gpu.utilization / 100, width,
                                        f"{gpu.utilization:.0f}% busy", 2))
            lines.append(self._bar_line("mem ", gpu.memory_used_mb / max(1, gpu.memory_total_mb),
                                        width, f"{gpu.memory_used_mb / 1024:.1f} / "
                                        f"{gpu.memory_total_mb / 1024:.1f} GB", 2))
        return Text("\n").join(lines)

    def _bar_line(self, label: str, fraction: float, width: int, note: str,
                  color_index: int) -> Text:
        line = Text(f"{label} ", style="bold", no_wrap=True)
        filled = bar(fraction, width)
        line.append(filled, style=fg(series_color(self.app, color_index)))
        line.append("·" * (width - len(filled)), style=fg(muted_color(self.app)))
        line.append(f"  {note}")
        return line
