"""Outputs written all-or-nothing: to a hidden temporary name beside the target, renamed onto it at the end."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.errors import ExportError


def partial_path(path: Path, suffix: str | None = None) -> Path:
    """The temporary name beside ``path`` (``.<stem>.<pid>.partial<suffix>``; the suffix keeps writers that pick the
    format from it working)."""
    return path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix if suffix is None else suffix}")


@contextmanager
def atomic_write(path, what: str = "file") -> Iterator[Path]:
    """``with atomic_write(p, "the plot") as tmp: write(tmp)``: on success ``tmp`` replaces ``p``; on any failure
    ``tmp`` is removed and ``p`` left as it was; an OSError becomes an ExportError naming ``what``."""
    p = Path(path).expanduser().resolve()
    tmp = partial_path(p)
    try:
        yield tmp
        os.replace(tmp, p)
    except OSError as e:
        raise ExportError(f"cannot write {what} {p}: {e}") from e
    finally:
        if tmp.exists():
            tmp.unlink()
