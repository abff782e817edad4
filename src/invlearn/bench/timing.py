"""Timing helpers shared by the benchmark suites: interleaved repetitions, medians, machine description."""

from __future__ import annotations

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


def _synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def interleaved_medians(
    functions: dict[str, Callable[[], None]], repeats: int = 30, warmup: int = 3
) -> dict[str, float]:
    """Median wall time in milliseconds of each function, the functions taking turns within every
    repetition so that drifts of the machine (frequency, other load) affect them alike."""
    for fn in functions.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
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
        "ratio": None if baseline_ms is None else round(ms / baseline_ms, 4),
    }
