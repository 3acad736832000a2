"""bake.retarget: shape-key name matching (no bpy)."""
import json

import pytest

from bake import retarget
from core.errors import InputError
from core.head_model import ARKIT_NAMES


@pytest.mark.parametrize("name", ["eyeBlinkLeft", "EyeBlinkLeft", "eyeBlink_L", "EyeBlink.L", "eyeBlink_l",
                                  "eye_blink_left", "EYEBLINK_LEFT", "eyeBlinkL", "eyeblinkleft", "L_eyeBlink",
                                  "eyeBlink-L", "eyeBlink Left", "head_geo:eyeBlinkLeft"])
def test_variants_of_one_name_agree(name):
    assert retarget.normalize(name) == "eyeblinkleft"


def test_lower_case_l_r_endings_are_no_side():
    assert retarget.normalize("mouthFunnel") == "mouthfunnel"
    assert retarget.normalize("mouthPucker") == "mouthpucker"
    assert retarget.normalize("MouthRollLower") == "mouthrolllower"


def test_all_52_names_distinct_and_matched_in_every_variant():
    assert len({retarget.normalize(n) for n in ARKIT_NAMES}) == 52
    pascal = [n[0].upper() + n[1:] for n in ARKIT_NAMES]
    suffixed = [n.replace("Left", "_L").replace("Right", "_R") for n in ARKIT_NAMES]
    dotted = [n.replace("Left", ".L").replace("Right", ".R") for n in ARKIT_NAMES]
    for names in (ARKIT_NAMES, pascal, suffixed, dotted):
        m = retarget.match_shape_keys(names)
        assert not m.missing and not m.unmatched
        assert [a for a, _ in m.pairs] == list(ARKIT_NAMES)
        assert m.driven == tuple(names)


def test_subset_reports_missing_and_unmatched():
    m = retarget.match_shape_keys(["JawOpen", "EyeBlink_L", "EyeBlink_R", "Frown", "mouthSmile.L"])
    assert dict(m.pairs) == {"jawOpen": "JawOpen", "eyeBlinkLeft": "EyeBlink_L", "eyeBlinkRight": "EyeBlink_R",
                             "mouthSmileLeft": "mouthSmile.L"}
    assert m.unmatched == ("Frown",)
    assert len(m.missing) == 48 and "mouthSmileRight" in m.missing and "jawOpen" not in m.missing
    text = "\n".join(retarget.describe("Face", m))
    assert "48 ARKit shapes missing" in text and "mouthSmileRight" in text


def test_unsided_shape_drives_a_split_pair():
    m = retarget.match_shape_keys(["browInnerUp_L", "browInnerUp_R"])
    assert m.pairs == (("browInnerUp", "browInnerUp_L"), ("browInnerUp", "browInnerUp_R"))


def test_json_override(tmp_path):
    p = tmp_path / "map.json"
    p.write_text(json.dumps({"JawOpen": "MouthOpenWide", "eyeBlinkLeft": ["Blink_L", "LidsL"], "tongueOut": []}))
    mapping = retarget.load_mapping(p)
    m = retarget.match_shape_keys(["MouthOpenWide", "blink_l", "lidsL", "TongueOut"], mapping)
    assert ("jawOpen", "MouthOpenWide") in m.pairs and ("eyeBlinkLeft", "blink_l") in m.pairs
    assert ("eyeBlinkLeft", "lidsL") in m.pairs
    assert m.skipped == ("tongueOut",) and "tongueOut" not in m.missing and m.unmatched == ("TongueOut",)
    with pytest.raises(InputError):
        retarget.load_mapping({"notAShape": "x"})
    with pytest.raises(InputError):
        retarget.load_mapping({"jawOpen": 3})
