"""Blender's spaces against the bake's, converted in ONE place (pure numpy; no bpy).

  * head frame (mm, +X subject's left, +Y up, +Z forward) -> Blender object space (m, +Z up, -Y forward):
    ``p_bl = MM * HEAD_TO_BL @ p_head`` with ``HEAD_TO_BL`` = (x, y, z) -> (x, -z, y), a 90 deg rotation about X;
  * OpenCV camera (x right, y down, z forward) -> Blender camera local space (x right, y up, looking down -Z):
    ``CV_TO_BLCAM = diag(1, -1, -1)``;
  * world: the camera sits at the origin looking along +Y (rotation (90 deg, 0, 0), ``CAM_WORLD_ROT``), so a frontal
    head stands at +Y facing the camera (-Y), like Blender's front view.
"""
from __future__ import annotations

import numpy as np

MM = 0.001                                                    # mm -> m
HEAD_TO_BL = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])   # head frame axes -> Blender axes
CV_TO_BLCAM = np.diag([1.0, -1.0, -1.0])                     # OpenCV camera -> Blender camera local
CAM_WORLD_ROT = HEAD_TO_BL                                    # camera at origin looking along +Y, +Z up
SENSOR_MM = 36.0


def head_to_blender(points_mm: np.ndarray) -> np.ndarray:
    """(..., 3) head-frame mm -> Blender object-space metres."""
    return np.asarray(points_mm, np.float64) @ HEAD_TO_BL.T * MM


def head_world_pose(R: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame head object world rotation (T,3,3) and location (T,3) m for a camera at the origin."""
    C = CAM_WORLD_ROT @ CV_TO_BLCAM
    rot = C @ np.asarray(R, np.float64) @ HEAD_TO_BL.T
    loc = np.asarray(t, np.float64) @ C.T * MM
    return rot, loc


def head_rotation_from_world(rot: np.ndarray) -> np.ndarray:
    """(T,3,3) head frame -> OpenCV camera rotations from a head object's Blender world rotations (the inverse of
    ``head_world_pose``'s rotation)."""
    C = CAM_WORLD_ROT @ CV_TO_BLCAM
    return np.einsum("ij,tjk,kl->til", C.T, np.asarray(rot, np.float64), HEAD_TO_BL)


def camera_world_rotation(turn: np.ndarray) -> np.ndarray:
    """(T,3,3) Blender world rotations of the camera object for the camera's turn ``turn`` (T,3,3: each frame's
    OpenCV camera -> the first frame's, SceneTracks.camera_rotation); the first frame's view is the still camera's."""
    return CAM_WORLD_ROT @ CV_TO_BLCAM @ np.asarray(turn, np.float64) @ CV_TO_BLCAM


def euler_xyz(rot: np.ndarray) -> np.ndarray:
    """(T,3,3) rotation matrices -> (T,3) Blender 'XYZ' Euler angles (R = Rz Ry Rx), unwrapped over time."""
    a = np.arctan2(rot[:, 2, 1], rot[:, 2, 2])
    b = np.arcsin(np.clip(-rot[:, 2, 0], -1.0, 1.0))
    c = np.arctan2(rot[:, 1, 0], rot[:, 0, 0])
    return np.unwrap(np.stack([a, b, c], 1), axis=0)


def camera_lens(K: np.ndarray, image_size) -> dict:
    """Blender camera settings reproducing pinhole K on an image of (width, height) pixels."""
    w, h = (int(v) for v in image_size)
    fx, fy, cx, cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
    if w >= h:
        fit, size, f = "HORIZONTAL", w, fx
    else:
        fit, size, f = "VERTICAL", h, fy
    return dict(sensor_fit=fit, sensor_width=SENSOR_MM, sensor_height=SENSOR_MM, lens=f * SENSOR_MM / size,
                shift_x=(w / 2.0 - cx) / size, shift_y=(cy - h / 2.0) / size)
