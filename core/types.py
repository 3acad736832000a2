"""Plain data that crosses package boundaries (numpy arrays + frozen dataclasses; no tensors, no bpy).

Conventions used everywhere:
  * Camera space is OpenCV's: x right, y down, z forward (into the scene), millimetres.
  * Intrinsics ``K`` are 3x3 pixel matrices of the frame (or of the crop, where said).
  * Canonical coordinates are millimetres in the head frame of ``core.head_model`` (origin between the
    ears, +X subject's left, +Y up, +Z forward); the network works with them normalised
    (``HeadModel.to_norm``).
  * Depth parametrisation of the network: ``depth = (z - z_origin) / canon_scale`` where ``z`` is the depth
    (mm) of the surface seen at the pixel along the crop's own axis, the unit direction from the camera through the
    crop's centre (``CropBox.view_axis``), and ``z_origin`` the head-frame origin's depth along it. It is
    independent of the distance to the camera and of where in the frame the crop was cut: the network sees the
    crop alone, so a face that looks frontal gets the same answer wherever it sits, which is the depth of a camera
    turned to look at it. The absolute anchor ``z_origin`` is recovered per frame by PnP on the canonical
    correspondences (``core.points``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_FOCAL_MM = 35.0   # full-frame-equivalent focal length assumed when the user gives none (bake.config)

# Output names of the ONNX network, equal to the FramePrediction fields below (order matters).
PREDICTION_FIELDS = ("depth", "depth_conf", "canon", "canon_conf", "mask")


def axis_through(K: np.ndarray, pixel) -> np.ndarray:
    """(3,) the unit direction from a camera with intrinsics ``K`` through image point ``pixel`` (x, y)."""
    K = np.asarray(K, np.float64)
    d = np.array([(pixel[0] - K[0, 2]) / K[0, 0], (pixel[1] - K[1, 2]) / K[1, 1], 1.0])
    return d / np.linalg.norm(d)


@dataclass(frozen=True, eq=False)
class FramePrediction:
    """Network output for one square crop of size S (arrays are at crop resolution)."""
    depth: np.ndarray        # (S, S) float32, (z - z_origin) / canon_scale, along the crop's axis (module docstring)
    depth_conf: np.ndarray   # (S, S) float32 >= 1
    canon: np.ndarray        # (S, S, 3) float32 normalised canonical coordinate
    canon_conf: np.ndarray   # (S, S) float32 >= 1
    mask: np.ndarray         # (S, S) float32 probability that the pixel is face skin with a valid canon


@dataclass(frozen=True)
class CropBox:
    """Square crop of a frame: top-left (x0, y0) and side in frame pixels (may extend past the frame), turned by
    ``angle`` (radians) about its centre (x0 + size / 2, y0 + size / 2): the crop's x axis runs along
    (cos angle, sin angle) in the frame (y down, so a positive angle turns it clockwise on screen). A turned crop
    shows a face rolled far from upright as the network saw faces in training (core.track.crop_from_landmarks);
    core.preprocess maps between its pixels and the frame's."""
    x0: float
    y0: float
    size: float
    angle: float = 0.0

    @property
    def centre(self) -> np.ndarray:
        return np.array([self.x0 + 0.5 * self.size, self.y0 + 0.5 * self.size])

    def view_axis(self, K: np.ndarray) -> np.ndarray:
        """(3,) the unit direction from the camera (intrinsics ``K``) through the crop's centre: the axis the
        network's depth is measured along (module docstring)."""
        return axis_through(K, self.centre)

    def scaled(self, factor: float) -> "CropBox":
        """The same crop in a frame scaled by ``factor``."""
        f = float(factor)
        return CropBox(self.x0 * f, self.y0 * f, self.size * f, self.angle)

    def crop_camera(self, K: np.ndarray, out_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(R, Kc): a camera-space point X shows at crop pixel ``Kc @ (R @ X)`` (divided by depth). Upright, R is
        the identity and Kc ``crop_intrinsics``; a turned crop is the view of the camera rolled about its optical
        axis (R turns x and y by -angle, keeping depth), which needs square pixels (fx = fy, no skew)."""
        if not self.angle:
            return np.eye(3), self.crop_intrinsics(K, out_size)
        K = np.asarray(K, np.float64)
        if K[0, 0] != K[1, 1] or K[0, 1] != 0:
            raise ValueError("a turned crop needs square pixels (fx = fy, no skew)")
        c, s = np.cos(self.angle), np.sin(self.angle)
        back = np.array([[c, s], [-s, c]])                  # R^T of the crop's axes: frame offsets -> crop offsets
        R = np.eye(3)
        R[:2, :2] = back
        scale = out_size / self.size
        t = scale * back @ (K[:2, 2] - self.centre) + 0.5 * out_size
        return R, np.array([[scale * K[0, 0], 0, t[0]], [0, scale * K[0, 0], t[1]], [0, 0, 1]])

    def crop_intrinsics(self, K: np.ndarray, out_size: int) -> np.ndarray:
        """The crop's pinhole intrinsics; only an upright crop is a pinhole view of the frame's camera itself (a
        turned one: ``crop_camera``)."""
        if self.angle:
            raise ValueError("a turned crop has no pinhole intrinsics of the frame's camera (see crop_camera)")
        s = out_size / self.size
        Kc = np.array(K, np.float64).copy()
        Kc[0, 2] -= self.x0
        Kc[1, 2] -= self.y0
        Kc[:2] *= s
        return Kc


@dataclass(frozen=True, eq=False)
class FaceState:
    """What the face tracker (core.track) reports for one frame with a face."""
    box: CropBox             # the dense network's square crop in the training framing (core.framing), frame px
    landmarks: np.ndarray    # (478, 3) float32 MediaPipe landmarks, frame pixels (z: relative depth, same scale)
    presence: float          # the landmark model's face-presence probability
    blendshapes: np.ndarray  # (52,) float32 scores in core.head_model.ARKIT_NAMES order; tongueOut is NaN
    forehead_light: float = np.nan   # the forehead's light over the cheeks' (core.exposure.forehead_light; NaN: unread)
    # (2,) each eye's lid gap over its width on the landmark model's own lids (core.eyelids.lid_aspects, before the
    # iris model's lower lids replace them in ``landmarks``): how shut the eye is. NaN: unread (``landmarks``' own).
    lid_aspects: np.ndarray = field(default_factory=lambda: np.full(2, np.nan))

    def scaled(self, factor: float) -> "FaceState":
        """The same state in a frame scaled by ``factor`` (e.g. from a downscaled copy back to the frame)."""
        f = float(factor)
        return FaceState(self.box.scaled(f),
                         (self.landmarks * f).astype(np.float32), self.presence, self.blendshapes,
                         self.forehead_light, self.lid_aspects)


@dataclass(frozen=True, eq=False)
class Frame:
    index: int               # frame number in the source (after range/stride)
    time: float              # seconds
    image: np.ndarray        # (H, W, 3) uint8 RGB


@dataclass(frozen=True, eq=False)
class PointCloud:
    """Canonical-linked point cloud of one frame."""
    frame: int
    cam_xyz: np.ndarray      # (N, 3) float32 mm, camera space
    canon: np.ndarray        # (N, 3) float32 mm, canonical (head frame)
    weight: np.ndarray       # (N,) float32 > 0
    pixel: np.ndarray        # (N, 2) float32 frame pixel coordinates


@dataclass(frozen=True, eq=False)
class TrackResult:
    """What the tracker reports per processed frame."""
    frames: np.ndarray                 # (T,) int frame indices
    boxes: np.ndarray                  # (T, 3) float crop boxes x0, y0, size (NaN where lost)
    found: np.ndarray                  # (T,) bool, face detected or followed
    warnings: tuple = field(default_factory=tuple)
