"""benchmarks/bench_share.py runs and writes what docs/MEASUREMENTS.md quotes from it."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_share  # noqa: E402


def test_bench_share_writes_the_share_with_and_without_the_sureness_per_case(tmp_path):
    out = tmp_path / "share.json"
    assert bench_share.main(["--frames", "150", "8", "--draws", "2", "--doubt", "0", "2", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    short = next(r for r in rows if r["frames"] == 8 and r["case"] == "still" and r["dense"] == 10.0)
    assert short["1-3"] < 0.1 < short["none"]          # a short clip's still face: no share beyond chance
    rows = [r for r in rows if r["frames"] == 150]
    assert {(r["case"], r["shake"], r["dense"]) for r in rows} >= {("still", 0.0, 10.0), ("shake", 6.0, 1.0)}
    still = next(r for r in rows if r["case"] == "still" and r["dense"] == 10.0)
    shake = next(r for r in rows if r["shake"] == 6.0 and r["dense"] == 1.0)
    assert still["none"] > 0.15 > still["1-3"] and still["0-2"] > still["1-3"]
    assert abs(shake["1-3"] - shake["wiener"]) < 0.05
