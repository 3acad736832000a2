"""Which of a character's shape keys carries which ARKit blendshape (pure: stdlib + numpy).

A captured performance (``Take``: 52 ARKit weights per frame, optional head rotation) drives any mesh whose shape
keys carry ARKit names. Names are compared after ``normalize``: case and separators are ignored and a side suffix or
prefix (``_L``/``_R``, ``.L``/``.R``, ``-L``, ``L``/``R`` after a lower-case letter, ``Left``/``Right``, ``left``/
``right``, ``L_``/``Left_`` in front) becomes ``left``/``right`` at the end, so ARKit's ``eyeBlinkLeft``, Live Link
Face's ``EyeBlinkLeft``, ``eyeBlink_L``, ``EyeBlink.L``, ``eye_blink_left``, ``head:eyeBlinkLeft`` (a namespace
is dropped) and Character Creator 3+'s ``A14_Eye_Blink_Left`` (its ``Ann_`` number is dropped) all read
``eyeblinkleft``.

The mapping is a small editable table: ``DEFAULT_MAPPING`` (ARKit name -> the target names that carry it, compared
normalised; by default the ARKit name itself plus ``ALIASES``). ``load_mapping(json)`` overrides entries: a JSON
object ``{"jawOpen": "MouthOpen", "eyeBlinkLeft": ["Blink_L", "BlinkLeft"], "tongueOut": []}``; an empty list drives
nothing and the shape is reported as skipped. Shapes the character lacks are reported by name (``Match.missing``),
never dropped silently; an unsided ARKit shape (``browInnerUp``, ``jawOpen``) also drives a character's split
``_L``/``_R`` pair.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.head_model import ARKIT_NAMES

from .camera_turn import world_rotation

# Extra names (compared normalised) some rigs use for an ARKit shape; edit freely. Character Creator 4's Extended
# facial profile (CC_Base_Body's keys) names most of the 52 as ARKit does once normalised (``Eye_Blink_L``,
# ``Jaw_Open``, ``Mouth_Smile_L``, ``Cheek_Puff_L`` / ``_R``); the rest are below, gaze by eye then direction
# (``Eye_L_Look_L``: the left eye looks to its left, out), funnel and pucker as four quarters. Its lip rolls are left
# out: open CC tools disagree whether ARKit's roll is its ``Mouth_Roll_In_*`` or ``Mouth_Roll_Out_*``, so a CC4
# character reports mouthRollUpper / Lower missing and a JSON mapping names the pair the artist wants.
ALIASES: dict[str, tuple[str, ...]] = {
    "mouthClose": ("mouthClosed",),
    "jawOpen": ("mouthOpen",),
    "tongueOut": ("tongue",),
    "cheekPuff": ("cheeksPuff",),
    "browInnerUp": ("Brow_Raise_Inner",),
    "browOuterUpLeft": ("Brow_Raise_Outer_L",),
    "browOuterUpRight": ("Brow_Raise_Outer_R",),
    "browDownLeft": ("Brow_Drop_L",),
    "browDownRight": ("Brow_Drop_R",),
    "cheekSquintLeft": ("Cheek_Raise_L",),
    "cheekSquintRight": ("Cheek_Raise_R",),
    "eyeLookOutLeft": ("Eye_L_Look_L",),
    "eyeLookInLeft": ("Eye_L_Look_R",),
    "eyeLookInRight": ("Eye_R_Look_L",),
    "eyeLookOutRight": ("Eye_R_Look_R",),
    "eyeLookUpLeft": ("Eye_L_Look_Up",),
    "eyeLookUpRight": ("Eye_R_Look_Up",),
    "eyeLookDownLeft": ("Eye_L_Look_Down",),
    "eyeLookDownRight": ("Eye_R_Look_Down",),
    "mouthUpperUpLeft": ("Mouth_Up_Upper_L",),
    "mouthUpperUpRight": ("Mouth_Up_Upper_R",),
    "mouthLowerDownLeft": ("Mouth_Down_Lower_L",),
    "mouthLowerDownRight": ("Mouth_Down_Lower_R",),
    "mouthFunnel": ("Mouth_Funnel_Up", "Mouth_Funnel_Down"),
    "mouthPucker": ("Mouth_Pucker_Up", "Mouth_Pucker_Down"),
}
DEFAULT_MAPPING: dict[str, tuple[str, ...]] = {n: (n, *ALIASES.get(n, ())) for n in ARKIT_NAMES}

_SUFFIX = re.compile(r"(?:[._\-\s](?P<a>l|r|left|right)|(?<=[a-z0-9])(?P<b>L|R|Left|Right|LEFT|RIGHT))$",
                     re.IGNORECASE)
_PREFIX = re.compile(r"^(?P<s>l|r|left|right)[._\-\s]", re.IGNORECASE)
_NUMBERED = re.compile(r"^A\d\d_")     # Character Creator 3+'s ARKit keys: "A01_Brow_Inner_Up" .. "A52_Tongue_Out"
_SIDE = {"l": "left", "left": "left", "r": "right", "right": "right"}


def normalize(name: str) -> str:
    """Comparison form of a shape-key name: lower case, no separators, the side (if any) as a ``left``/``right``
    suffix."""
    s = str(name).strip().rsplit(":", 1)[-1]       # a Maya-style namespace ("head_geo:eyeBlinkLeft") is dropped
    s = _NUMBERED.sub("", s)
    side = ""
    m = _SUFFIX.search(s)
    if m and (m.group("a") or _case_ok(m.group("b"))):
        side = _SIDE[(m.group("a") or m.group("b")).lower()]
        s = s[:m.start()]
    else:
        m = _PREFIX.match(s)
        if m:
            side = _SIDE[m.group("s").lower()]
            s = s[m.end():]
    body = re.sub(r"[^0-9a-z]", "", s.lower())
    if not side:     # all-lower-case "eyeblinkleft" / "eye_blink_left" carry the side in the body
        for word in ("left", "right"):
            if body.endswith(word) and len(body) > len(word):
                return body
    return body + side


def _case_ok(tail: str | None) -> bool:
    """A side written without a separator must be capitalised (``eyeBlinkL``, ``EyeBlinkLeft``): ``mouthFunnel``
    ends in a lower-case l that is no side."""
    return bool(tail) and tail[0].isupper()


@dataclass(frozen=True)
class Match:
    """How one character's shape keys relate to the 52 ARKit shapes."""
    pairs: tuple          # ((ARKit name, target key name), ...) in ARKit order; a shape may drive several keys
    missing: tuple        # ARKit names the character has no key for (reported, never dropped silently)
    skipped: tuple        # ARKit names the mapping maps to nothing on purpose
    unmatched: tuple      # the character's keys that carry no ARKit shape (left as they are)

    @property
    def driven(self) -> tuple:
        """Target key names that receive a curve."""
        return tuple(t for _, t in self.pairs)


def match_shape_keys(target_names, mapping: dict | None = None) -> Match:
    """Match a character's shape-key names (without the reference key, "Basis") to the ARKit shapes."""
    table = dict(DEFAULT_MAPPING)
    if mapping:
        table.update({k: tuple(v) for k, v in mapping.items()})
    by_norm: dict[str, list[str]] = {}
    for t in target_names:
        by_norm.setdefault(normalize(t), []).append(str(t))
    pairs, missing, skipped, used = [], [], [], set()
    for arkit, wanted in table.items():
        if not wanted:
            skipped.append(arkit)
            continue
        hits: list[str] = []
        for w in wanted:
            n = normalize(w)
            found = by_norm.get(n, [])
            if not found and not n.endswith(("left", "right")):    # unsided shape, split pair on the character
                found = by_norm.get(n + "left", []) + by_norm.get(n + "right", [])
            hits += [h for h in found if h not in hits]
        if hits:
            pairs += [(arkit, h) for h in hits]
            used.update(hits)
        else:
            missing.append(arkit)
    unmatched = tuple(str(t) for t in target_names if str(t) not in used)
    return Match(pairs=tuple(pairs), missing=tuple(missing), skipped=tuple(skipped), unmatched=unmatched)


def load_mapping(source) -> dict[str, tuple[str, ...]]:
    """A mapping override from a JSON file path or an already parsed dict: ARKit name -> name or list of names.
    InputError on unknown ARKit names or values that are not strings/lists of strings."""
    if isinstance(source, (str, Path)):
        try:
            data = json.loads(Path(source).read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"cannot read the shape-key mapping {source}: {e}") from e
    else:
        data = source
    if not isinstance(data, dict):
        raise InputError("a shape-key mapping is a JSON object: {\"jawOpen\": \"MouthOpen\", ...}")
    lower = {n.lower(): n for n in ARKIT_NAMES}
    out = {}
    for k, v in data.items():
        arkit = lower.get(str(k).lower())
        if arkit is None:
            raise InputError(f"shape-key mapping: {k!r} is not an ARKit blendshape name")
        vals = [] if v is None else [v] if isinstance(v, str) else v
        if not isinstance(vals, list) or not all(isinstance(x, str) for x in vals):
            raise InputError(f"shape-key mapping: {k!r} must map to a name or a list of names, not {v!r}")
        out[arkit] = tuple(vals)
    return out


def describe(obj_name: str, match: Match) -> list[str]:
    """Report lines for one character mesh."""
    lines = [f"{obj_name}: {len(match.pairs)} shape keys driven"]
    if match.missing:
        lines.append(f"{obj_name}: {len(match.missing)} ARKit shapes missing: {', '.join(match.missing)}")
    if match.skipped:
        lines.append(f"{obj_name}: skipped by the mapping: {', '.join(match.skipped)}")
    return lines


# ---------------------------------------------------------------- the performance that drives a character
@dataclass(frozen=True, eq=False)
class Take:
    """A captured performance, wherever it came from (a bake, our head in Blender, a Live Link Face CSV)."""
    names: tuple                     # ARKit names (camelCase) of the weight columns
    weights: np.ndarray              # (T, len(names)) raw per-frame values
    frames: np.ndarray               # (T,) scene frames (float)
    fps: float
    head_rotation: np.ndarray | None = None   # (T, 3, 3) head frame -> the (first frame's) OpenCV camera: the head's
                                              # turn in the world (bake.camera_turn.world_rotation)

    def column(self, name: str) -> np.ndarray:
        return self.weights[:, self.names.index(name)]


def take_from_tracks(tracks) -> Take:
    """The ARKit part of a ``bake.types.SceneTracks`` (residual keys are our head's own and are left out)."""
    idx = [i for i, n in enumerate(tracks.key_names) if n in DEFAULT_MAPPING]
    return Take(names=tuple(tracks.key_names[i] for i in idx),
                weights=np.asarray(tracks.weights, np.float64)[:, idx],
                frames=np.asarray(tracks.frames, np.float64), fps=float(tracks.fps),
                head_rotation=world_rotation(tracks))
