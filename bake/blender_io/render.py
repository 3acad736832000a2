"""A frame of the baked scene rendered over the footage frame it shows (Workbench; a PNG for a person to look at)."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import bpy
import numpy as np

from core.errors import ExportError, FootageError
from core.footage import open_footage

from ..atomic import partial_path
from .export import check_writable

log = logging.getLogger(__name__)


def render_over_footage(path, frame: int, footage_path: str = "", scene=None, alpha: float = 0.75,
                        engine: str = "BLENDER_WORKBENCH", color_type: str = "SINGLE") -> Path:
    """Render ``frame`` from the scene camera (Workbench, transparent film) and composite it over the footage
    frame ``frame - 1`` (the camera background clip convention); without footage, over grey. Returns the PNG.
    ``color_type`` is the Workbench colour: "SINGLE" (skin-coloured clay) or "TEXTURE" (the material's image).

    Workbench renders headless in the bpy module (software EGL, ~2 s for 640x480); camera background images are
    viewport-only, hence the composite in numpy/OpenCV.
    """
    import cv2
    scene = scene or bpy.context.scene
    p = check_writable(path)
    tmp = partial_path(p, ".png")
    keep = (scene.render.engine, scene.render.film_transparent, scene.render.filepath, scene.frame_current,
            scene.render.image_settings.color_mode)
    keep_view = scene.view_settings.view_transform
    try:
        scene.render.engine = engine
        scene.render.film_transparent = True
        scene.render.image_settings.color_mode = "RGBA"
        scene.render.filepath = str(tmp)
        if engine == "BLENDER_WORKBENCH":
            shading = scene.display.shading
            textured = color_type == "TEXTURE"
            # a texture is the footage's own colours: shown unlit, through the Standard view transform
            shading.light, shading.color_type = ("FLAT" if textured else "STUDIO"), color_type
            shading.single_color = (0.85, 0.62, 0.5)
            shading.show_cavity = not textured
            if textured:
                scene.view_settings.view_transform = "Standard"
        scene.frame_set(int(frame))
        bpy.ops.render.render(write_still=True)
        rgba = cv2.imread(str(tmp), cv2.IMREAD_UNCHANGED)
        if rgba is None or rgba.shape[2] != 4:
            raise ExportError(f"the render of frame {frame} could not be read back")
        h, w = rgba.shape[:2]
        bg = footage_frame(footage_path, int(frame) - 1, (w, h))
        a = rgba[..., 3:4].astype(np.float32) / 255.0 * alpha
        out = (rgba[..., :3].astype(np.float32) * a + bg.astype(np.float32) * (1 - a)).astype(np.uint8)
        if not cv2.imwrite(str(tmp), out):
            raise ExportError(f"cannot write {p}")
        os.replace(tmp, p)
    finally:
        (scene.render.engine, scene.render.film_transparent, scene.render.filepath, fc,
         scene.render.image_settings.color_mode) = keep
        scene.view_settings.view_transform = keep_view
        scene.frame_set(fc)
        if tmp.exists():
            tmp.unlink()
    return p


def footage_frame(footage_path: str, index: int, size) -> np.ndarray:
    """BGR footage frame ``index`` (source numbering, 0-based) resized to ``size`` (w, h); mid grey when unavailable.
    Read with ``core.footage``, the pipeline's own reader (natural order of image folders, rotation metadata applied),
    so the frame is the one the bake saw."""
    import cv2
    w, h = size
    img = None
    if footage_path and index >= 0:
        try:
            with open_footage(footage_path, start=index, end=index + 1) as footage:
                frame = next(iter(footage), None)
            img = None if frame is None else cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
        except FootageError as e:
            log.warning("no footage frame %d under the render: %s", index, e)
    if img is None:
        return np.full((h, w, 3), 90, np.uint8)
    return img if img.shape[:2] == (h, w) else cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
