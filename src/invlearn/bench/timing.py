"""Timing helpers shared by the benchmark suites: interleaved repetitions, medians, machine description."""

from __future__ import annotations

import ctypes
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch


def machine() -> str:
    """A one-line description of this machine: CPU model, logical cores, torch threads (and GPU if used)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    text = f"{model}, {os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads"
    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name()}"
    return text


def pin_allocator() -> bool:
    """Fix glibc's mmap and trim thresholds (256 and 512 MiB) for the rest of the process.

    By default glibc moves its mmap threshold with the history of frees, so whether an image-sized temporary is
    recycled or mapped and page-faulted afresh depends on what ran before: on a 2-core machine that swung the
    ratio of identical elementwise pipelines between 0.8 and 1.5 from one run to the next. With fixed
    thresholds every row sees the same allocator. Returns False (and changes nothing) off glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 256 << 20)) and bool(libc.mallopt(m_trim_threshold, 512 << 20))


def _synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def interleaved_medians(
    functions: dict[str, Callable[[], None]], repeats: int = 30, warmup: int = 3, block: int = 5
) -> dict[str, float]:
    """Median wall time in milliseconds of each function over ``repeats`` timed calls.

    The functions take turns in rounds so that drifts of the machine (frequency, other load) affect them
    alike. Within a round each function first runs once untimed, then ``block`` timed calls in a row: what is
    measured is its steady state, as in a training loop, not the cost of switching from another workload.
    """
    for fn in functions.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    while min(len(values) for values in samples.values()) < repeats:
        for name, fn in functions.items():
            fn()
            for _ in range(min(block, repeats - len(samples[name]))):
                _synchronize()
                start = time.perf_counter()
                fn()
                _synchronize()
                samples[name].append(1e3 * (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in samples.items()}


def result_row(name: str, ms: float, baseline: str | None = None, baseline_ms: float | None = None) -> dict:
    """One row of a suite's ``results``: ``{"name", "ms_median", "baseline", "baseline_ms_median", "ratio"}``."""
    return {
        "name": name,
        "ms_median": round(ms, 4),
        "baseline": baseline,
        "baseline_ms_median": None if baseline_ms is None else round(baseline_ms, 4),
        "ratio": None if baseline_ms is None else float(f"{ms / baseline_ms:.4g}"),  # 4 significant digits
    }
