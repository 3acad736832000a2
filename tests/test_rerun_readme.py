import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
import rerun_readme  # noqa: E402
from reshoots import reshoot_kind  # noqa: E402


def _options(script: str) -> set[str]:
    return set(re.findall(r'add_argument\("(--[a-z-]+)"', (BENCH / script).read_text()))


def test_every_run_passes_options_its_script_takes_and_copies_it_can_make():
    """Each listed run's options are ones its script defines, each --reshoot value one reshoots.py makes; the files
    the README's tables are printed from (benchmarks/readme_tables.py) are among those written, each by one run."""
    runs = rerun_readme.commands("CACHE", "LABEL", "FOOTAGE", python="py")
    real, e2e = _options("bench_real.py"), _options("bench_e2e.py")
    written = []
    for name, argv in runs:
        script = Path(argv[1]).name
        flags = {a for a in argv[2:] if a.startswith("--")}
        assert flags <= (real if script == "bench_real.py" else e2e), (name, flags - real - e2e)
        for kind, value in zip(argv, argv[1:]):
            if kind == "--reshoot":
                reshoot_kind(value)                   # raises on a copy reshoots.py cannot make
        written += [Path(v).name for k, v in zip(argv, argv[1:]) if k in ("--json", "--oracle-json")]
    assert len(written) == len(set(written))
    assert {"real_oracle.json", "e2e.json", "e2e_dense.json", "e2e_landmarks.json",
            "e2e_9seeds_LABEL.json"} <= set(written)
    assert "FOOTAGE/talking_green_screen.mp4" in dict(runs)["small_sizes"]


def test_only_and_dry_run_print_the_named_runs_and_run_nothing(capsys, tmp_path):
    assert rerun_readme.main(["--cache", str(tmp_path), "--label", "x", "--only", "grey", "e2e", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[1] for ln in lines] == ["grey", "e2e"]
    assert "--reshoot grey" in lines[0] and str(tmp_path) in lines[0]
    with pytest.raises(SystemExit):
        rerun_readme.main(["--cache", str(tmp_path), "--label", "x", "--only", "nothing"])
