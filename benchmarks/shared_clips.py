"""The real clips the benchmarks measure: the folder beside the checkout that holds them (../shared/footage, never
committed; a benchmark finds nothing to measure where it is absent) and their names."""
from __future__ import annotations

from pathlib import Path

FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "footage"
CLIPS = ("talking_green_screen.mp4", "expressions_office.mp4", "press_wide_shot.mp4")


def clip_paths(named: list[str], footage: Path | str = FOOTAGE, default: tuple[str, ...] = CLIPS) -> list[Path]:
    """The clips a benchmark was given: each a path, or a name in ``footage`` (``press_wide_shot.mp4`` as well as
    ``../shared/footage/press_wide_shot.mp4``); none given, those of ``default`` that ``footage`` holds. A clip found
    neither way stops the run with a message that names it and where it was looked for (SystemExit), before any
    work."""
    footage = Path(footage)
    if not named:
        return [footage / c for c in default if (footage / c).exists()]
    out, missing = [], []
    for c in named:
        path = Path(c)
        if not path.exists() and not path.is_absolute() and (footage / path).exists():
            path = footage / path
        (out if path.exists() else missing).append(path)
    if missing:
        raise SystemExit("no such clip: " + ", ".join(str(m) for m in missing) + f" (nor in {footage})")
    return out
