"""The real clips the benchmarks measure: the folder beside the checkout that holds them (../shared/footage, never
committed; a benchmark finds nothing to measure where it is absent) and their names."""
from __future__ import annotations

from pathlib import Path

FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "footage"
CLIPS = ("talking_green_screen.mp4", "expressions_office.mp4", "press_wide_shot.mp4")
