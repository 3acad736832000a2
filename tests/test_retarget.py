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


# Character Creator 4's Extended facial profile: CC_Base_Body's expression keys (as open CC tools list them), with
# some of its keys that carry no ARKit shape
CC4_EXTENDED = [f"{n}_{s}" for s in "LR" for n in (
    "Brow_Raise_Inner", "Brow_Raise_Outer", "Brow_Drop", "Brow_Compress", "Eye_Blink", "Eye_Squint", "Eye_Wide",
    "Cheek_Raise", "Cheek_Puff", "Cheek_Suck", "Nose_Sneer", "Mouth_Smile", "Mouth_Frown", "Mouth_Dimple",
    "Mouth_Stretch", "Mouth_Press", "Mouth_Up_Upper", "Mouth_Down_Lower", "Mouth_Funnel_Up", "Mouth_Funnel_Down",
    "Mouth_Pucker_Up", "Mouth_Pucker_Down", "Mouth_Roll_In_Upper", "Mouth_Roll_In_Lower", "Mouth_Roll_Out_Upper",
    "Mouth_Roll_Out_Lower", "Mouth", "Jaw", "Eye_L_Look", "Eye_R_Look")] + [
    "Eye_L_Look_Up", "Eye_R_Look_Up", "Eye_L_Look_Down", "Eye_R_Look_Down", "Jaw_Open", "Jaw_Forward",
    "Mouth_Close", "Mouth_Shrug_Upper", "Mouth_Shrug_Lower", "Mouth_Up", "Mouth_Down", "Tongue_Out", "V_Open"]


def test_a_character_creator_4_extended_face_drives_all_but_its_lip_rolls():
    m = retarget.match_shape_keys(CC4_EXTENDED)
    pairs = dict(m.pairs)
    assert set(m.missing) == {"mouthRollLower", "mouthRollUpper"}
    assert pairs["eyeLookOutLeft"] == "Eye_L_Look_L" and pairs["eyeLookInLeft"] == "Eye_L_Look_R"
    assert pairs["eyeLookInRight"] == "Eye_R_Look_L" and pairs["eyeLookOutRight"] == "Eye_R_Look_R"
    assert pairs["eyeLookUpLeft"] == "Eye_L_Look_Up" and pairs["eyeLookDownRight"] == "Eye_R_Look_Down"
    assert pairs["browDownLeft"] == "Brow_Drop_L" and pairs["cheekSquintRight"] == "Cheek_Raise_R"
    assert pairs["mouthUpperUpLeft"] == "Mouth_Up_Upper_L" and pairs["mouthLowerDownRight"] == "Mouth_Down_Lower_R"
    assert pairs["mouthLeft"] == "Mouth_L" and pairs["jawRight"] == "Jaw_R" and pairs["eyeBlinkLeft"] == "Eye_Blink_L"
    driven = lambda arkit: sorted(t for a, t in m.pairs if a == arkit)                     # noqa: E731
    assert driven("browInnerUp") == ["Brow_Raise_Inner_L", "Brow_Raise_Inner_R"]
    assert driven("cheekPuff") == ["Cheek_Puff_L", "Cheek_Puff_R"]
    assert driven("mouthFunnel") == ["Mouth_Funnel_Down_L", "Mouth_Funnel_Down_R", "Mouth_Funnel_Up_L",
                                     "Mouth_Funnel_Up_R"]
    assert len(driven("mouthPucker")) == 4
    assert {"Brow_Compress_L", "Mouth_Roll_In_Upper_L", "Mouth_Roll_Out_Lower_R", "Mouth_Up", "V_Open"} <= set(
        m.unmatched)
    rolls = retarget.match_shape_keys(CC4_EXTENDED, retarget.load_mapping({"mouthRollUpper": "Mouth_Roll_In_Upper",
                                                                           "mouthRollLower": "Mouth_Roll_In_Lower"}))
    assert not rolls.missing and ("mouthRollUpper", "Mouth_Roll_In_Upper_R") in rolls.pairs


def test_character_creator_3_numbered_arkit_keys_match_all_52():
    numbered = []
    for k, n in enumerate(ARKIT_NAMES, 1):        # A01_Brow_Inner_Up style: the ARKit name's words, numbered
        body = "".join("_" + c if c.isupper() else c for c in n)
        body = body[0].upper() + body[1:]
        numbered.append(f"A{k:02d}_{body}")
    assert numbered[ARKIT_NAMES.index("eyeBlinkLeft")].endswith("_Eye_Blink_Left")
    m = retarget.match_shape_keys(numbered)
    assert not m.missing and not m.unmatched and [a for a, _ in m.pairs] == list(ARKIT_NAMES)
    assert retarget.normalize("A25_Jaw_Open") == retarget.normalize("jawOpen")
    assert retarget.normalize("B25_Jaw_Open") != retarget.normalize("jawOpen")     # only CC's A-numbers go
