"""bake.overlay: the fitted mesh over a frame, and the labels a person scanning the overlay needs."""
from dataclasses import replace

import numpy as np

from bake.fit_report import POOR_FIT
from bake.overlay import overlay_frame
from tests.blender.conftest import make_tracks


def test_a_frame_far_off_the_landmarks_is_labelled(head):
    tracks = make_tracks(head, n_frames=6)
    image = np.full((480, 640, 3), 90, np.uint8)
    fit = np.array([0.02, 2 * POOR_FIT, np.nan, 0.5 * POOR_FIT, POOR_FIT * 1.01, 0.03], np.float32)
    plain, marked = overlay_frame(tracks, 1, image), overlay_frame(replace(tracks, landmark_fit=fit), 1, image)
    label = (slice(30, 70), slice(0, 400))                  # the second line, where the fit's label is written
    assert (np.abs(marked.astype(int) - plain)[label].max(2) > 60).sum() > 200       # its box and text drawn
    for i in (0, 2, 3):                                     # well fitted, not read: the frame as without a fit
        np.testing.assert_array_equal(overlay_frame(replace(tracks, landmark_fit=fit), i, image),
                                      overlay_frame(tracks, i, image))
