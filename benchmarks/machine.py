"""The machine a benchmark ran on, one string for every result file (architecture, CPU model, core count), and the
one way a benchmark writes its result file (``write_result``).

The CPU model is part of a figure: the same per-frame code's whole path ran the three real clips at 18.4 / 25.0 / 15.8
frames/s on a 2-core Intel Xeon and 17.5 / 21.3 / 13.3 on a 2-core AMD EPYC (docs/MEASUREMENTS.md), and a test's
tolerance once held on one and not the other (tests/test_chunked.py).
"""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path


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


def write_result(path, result) -> Path:
    """``result`` written to ``path`` as JSON indented by one space, its folder made, and a line saying where; whole or
    not at all (written beside it under a temporary name, then renamed onto it), so a run stopped halfway leaves the
    file as it was. Returns the path."""
    path = Path(path)
    text = json.dumps(result, indent=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {path}")
    return path
