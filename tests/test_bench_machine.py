"""benchmarks/machine.py: the machine's description and the one way a benchmark writes its result file."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from machine import describe, write_result  # noqa: E402


def test_the_description_names_the_cores_and_takes_a_note():
    assert describe().endswith(" cores") and describe("shared").endswith(" cores, shared")


def test_a_result_is_written_indented_by_one_space_into_a_folder_made_for_it(tmp_path, capsys):
    path = tmp_path / "new" / "deeper" / "res.json"
    assert write_result(path, {"machine": "m", "sets": {"a": [1, 2]}}) == path
    assert path.read_text() == json.dumps({"machine": "m", "sets": {"a": [1, 2]}}, indent=1)
    assert capsys.readouterr().out == f"wrote {path}\n"
    assert [p.name for p in path.parent.iterdir()] == ["res.json"]


def test_a_result_that_cannot_be_written_leaves_the_file_before_it(tmp_path):
    path = tmp_path / "res.json"
    write_result(path, {"run": 1})
    with pytest.raises(TypeError):
        write_result(path, {"run": 2, "bad": object()})        # not JSON: nothing is written
    assert json.loads(path.read_text()) == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["res.json"]
