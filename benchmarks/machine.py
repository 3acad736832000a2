"""The machine a benchmark ran on, one string for every result file: architecture, CPU model, core count.

The CPU model is part of a figure: the same per-frame code's whole path ran the three real clips at 18.4 / 25.0 / 15.8
frames/s on a 2-core Intel Xeon and 17.5 / 21.3 / 13.3 on a 2-core AMD EPYC (docs/MEASUREMENTS.md), and a test's
tolerance once held on one and not the other (tests/test_chunked.py).
"""
from __future__ import annotations

import os
import platform


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; elsewhere what ``platform`` says)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU model unknown"


def describe(note: str = "") -> str:
    """e.g. "x86_64, AMD EPYC, 2 cores" (``note`` appended after a comma: "shared with other jobs")."""
    return ", ".join(s for s in (platform.machine(), cpu_model(), f"{os.cpu_count()} cores", note) if s)
