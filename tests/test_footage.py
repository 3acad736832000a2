"""core.footage: natural order, image folders, single images, videos, range/stride, odd inputs, errors."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import FootageError
from core.footage import natural_key, open_footage


def write_png(path: Path, value: int, size=(40, 32), rgb=False) -> None:
    img = np.full((size[1], size[0], 3), value, np.uint8)
    if rgb:
        img[..., :] = (0, 0, 255)  # BGR red
    cv2.imwrite(str(path), img)


def write_video(path: Path, n: int, size=(64, 48), fps=10.0, fourcc="MJPG") -> None:
    w, h = size
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert vw.isOpened()
    for i in range(n):
        vw.write(np.full((h, w, 3), 10 * i + 5, np.uint8))
    vw.release()


def test_natural_sort_key():
    names = ["img10.png", "img2.png", "IMG3.png", "img1.png", "img100.png", "img20.png"]
    assert sorted(names, key=natural_key) == ["img1.png", "img2.png", "IMG3.png", "img10.png", "img20.png",
                                              "img100.png"]


def test_image_folder_natural_order_and_times(tmp_path):
    for i in (1, 2, 10, 3, 20):
        write_png(tmp_path / f"frame{i}.png", 10 * i)
    (tmp_path / "notes.txt").write_text("not an image")
    with open_footage(tmp_path) as f:
        assert (f.fps, f.width, f.height, f.frame_count_reported) == (25.0, 40, 32, 5)
        frames = list(f)
    assert [fr.image[0, 0, 0] for fr in frames] == [10, 20, 30, 100, 200]
    assert [fr.index for fr in frames] == [0, 1, 2, 3, 4]
    assert frames[3].time == pytest.approx(3 / 25)
    assert frames[0].image.dtype == np.uint8 and frames[0].image.shape == (32, 40, 3)


def test_image_folder_range_stride_and_fps(tmp_path):
    for i in range(10):
        write_png(tmp_path / f"f_{i:03d}.jpg", 20 * i)
    with open_footage(tmp_path, start=1, end=8, stride=3, fps=50) as f:
        frames = list(f)
    assert [fr.index for fr in frames] == [1, 4, 7]
    assert frames[1].time == pytest.approx(4 / 50)


def test_single_image_is_rgb(tmp_path):
    p = tmp_path / "still.png"
    write_png(p, 0, rgb=True)
    with open_footage(p) as f:
        frames = list(f)
        assert f.report() == []
    assert len(frames) == 1
    assert tuple(frames[0].image[0, 0]) == (255, 0, 0)


def test_16bit_image_to_8bit(tmp_path):
    p = tmp_path / "deep.tif"
    cv2.imwrite(str(p), np.full((8, 8, 3), 40000, np.uint16))
    with open_footage(p) as f:
        img = next(iter(f)).image
    assert img.dtype == np.uint8 and abs(int(img[0, 0, 0]) - 40000 // 256) <= 1


def test_video_frames_range_stride_and_times(tmp_path):
    p = tmp_path / "clip.avi"
    write_video(p, 12, fps=10)
    with open_footage(p) as f:
        assert (f.width, f.height, f.fps, f.frame_count_reported) == (64, 48, 10.0, 12)
        all_frames = list(f)
    assert len(all_frames) == 12
    levels = [int(fr.image.mean().round()) for fr in all_frames]
    assert levels == pytest.approx([10 * i + 5 for i in range(12)], abs=3)
    with open_footage(p, start=2, end=9, stride=3) as f:
        part = list(f)
        assert f.report() == []
    assert [fr.index for fr in part] == [2, 5, 8]
    assert [fr.time for fr in part] == pytest.approx([0.2, 0.5, 0.8], abs=1e-6)
    assert [int(fr.image.mean().round()) for fr in part] == pytest.approx([25, 55, 85], abs=3)


def test_video_is_streamed_not_loaded(tmp_path):
    p = tmp_path / "clip.avi"
    write_video(p, 6)
    with open_footage(p) as f:
        it = iter(f)
        first = next(it)
        assert first.index == 0
        assert not isinstance(it, (list, tuple))


def test_the_first_pass_reads_on_from_the_probe(tmp_path, monkeypatch):
    """Opening a video probes its first frame; the first pass goes on from there (one capture opened, the first frame
    decoded once), a second pass opens the file again and gives the same frames, and a footage closed without a pass
    releases the probe's capture."""
    import core.footage as footage
    p = tmp_path / "clip.avi"
    write_video(p, 6)
    opened, capture = [], cv2.VideoCapture

    def counted(*a):
        opened.append(capture(*a))
        return opened[-1]

    monkeypatch.setattr(footage.cv2, "VideoCapture", counted)
    with open_footage(p, start=0, end=4) as f:
        first = [(fr.index, fr.time, fr.image.copy()) for fr in f]
        assert len(opened) == 1
        again = [(fr.index, fr.time, fr.image) for fr in f]
        assert len(opened) == 2
    assert [(i, t) for i, t, _ in first] == [(i, t) for i, t, _ in again]
    assert [(i, round(t, 6)) for i, t, _ in first] == [(i, i / 10) for i in range(4)]
    assert all(np.array_equal(a[2], b[2]) for a, b in zip(first, again))
    with open_footage(p):
        pass
    assert len(opened) == 3 and not any(cap.isOpened() for cap in opened)


def test_vertical_video_reported(tmp_path):
    p = tmp_path / "tall.avi"
    write_video(p, 3, size=(48, 80))
    with open_footage(p) as f:
        assert (f.width, f.height) == (48, 80)
        assert any("vertical" in line for line in f.report())


def test_truncated_video_reports_shortfall(tmp_path):
    p = tmp_path / "broken.avi"
    write_video(p, 30, size=(64, 48))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with open_footage(p) as f:
        frames = list(f)
        report = f.report()
    if f.frame_count_reported <= len(frames):
        pytest.skip("this OpenCV build does not report the original frame count of a truncated AVI")
    assert 0 < len(frames) < 30
    assert any(f"only {len(frames)} decoded" in line for line in report), report


@pytest.mark.footage
def test_press_clip_reports_broken_tail(footage_dir):
    with open_footage(footage_dir / "press_wide_shot.mp4", stride=5) as f:
        assert (f.width, f.height, f.frame_count_reported) == (1280, 720, 158)
        frames = list(f)
        assert f.frame_count_decoded == 55
        assert any("158 frames but only 55 decoded" in line for line in f.report())
    assert [fr.index for fr in frames] == list(range(0, 55, 5))


def test_errors(tmp_path):
    def err(*args, **kw):
        with pytest.raises(FootageError) as e:
            open_footage(*args, **kw)
        return str(e.value)

    assert "no such file" in err(tmp_path / "missing.mp4")
    (tmp_path / "a.txt").write_text("x")
    assert "unsupported file type '.txt'" in err(tmp_path / "a.txt")
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert "empty" in err(tmp_path / "empty.mp4")
    (tmp_path / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    msg = err(tmp_path / "garbage.mp4")
    assert "garbage.mp4" in msg and ("cannot open" in msg or "no decodable" in msg)
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    assert "cannot decode" in err(tmp_path / "bad.png")
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    (empty_dir / "readme.txt").write_text("x")
    assert "no images" in err(empty_dir)
    write_png(tmp_path / "ok.png", 1)
    assert "bad frame range" in err(tmp_path / "ok.png", start=5, end=3)
    assert "beyond the last frame" in err(tmp_path / "ok.png", start=4)
    assert "stride" in err(tmp_path / "ok.png", stride=0)
    assert "start" in err(tmp_path / "ok.png", start=-1)
    write_video(tmp_path / "v.avi", 4)
    assert "beyond the last frame" in err(tmp_path / "v.avi", start=10)


def test_mixed_sizes_in_folder_is_an_error(tmp_path):
    write_png(tmp_path / "1.png", 0, size=(40, 32))
    write_png(tmp_path / "2.png", 0, size=(20, 16))
    with open_footage(tmp_path) as f:
        with pytest.raises(FootageError, match="2.png.*share one size"):
            list(f)


def test_exr_sequence_is_tone_mapped(tmp_path):
    import cv2 as _cv2
    img = np.full((8, 10, 3), 0.5, np.float32)  # linear 0.5 -> sRGB ~188
    if not _cv2.imwrite(str(tmp_path / "a_1.exr"), img):
        pytest.skip("this OpenCV build cannot write EXR")
    _cv2.imwrite(str(tmp_path / "a_2.exr"), img * 0)
    with open_footage(tmp_path) as f:
        frames = list(f)
    assert len(frames) == 2 and frames[0].image.dtype == np.uint8
    assert abs(int(frames[0].image[0, 0, 0]) - 188) <= 1 and frames[1].image.max() == 0


def test_variable_frame_rate_is_reported(tmp_path):
    p = tmp_path / "clip.avi"
    write_video(p, 3, fps=10)
    f = open_footage(p)
    f._check_frame_rate([0.0, 0.1, 0.2, 0.3])
    assert f.report() == []
    f._check_frame_rate([0.0, 0.1, 0.15, 0.3, 0.4])
    assert any("variable frame rate" in line for line in f.report())


def _ffmpeg() -> str:
    return pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()   # dev requirement: a static ffmpeg build


def _marked_frames(folder: Path, n: int = 12, size=(160, 120)) -> str:
    """n frames with a red block in the top-left corner (to tell orientation) and the frame number encoded in the
    grey level of the right half (to tell which frame came out)."""
    w, h = size
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, w // 2:] = 10 + 20 * i
        img[: h // 4, : w // 4] = (0, 0, 255)
        cv2.imwrite(str(folder / f"f{i:03d}.png"), img)
    return str(folder / "f%03d.png")


def test_rotation_metadata_gives_upright_frames(tmp_path):
    import subprocess
    ff = _ffmpeg()
    pattern = _marked_frames(tmp_path)
    base, rotated = tmp_path / "base.mp4", tmp_path / "rotated.mp4"
    subprocess.run([ff, "-loglevel", "error", "-y", "-framerate", "25", "-i", pattern, "-c:v", "mpeg4", "-q:v", "2",
                    str(base)], check=True)
    # a phone's portrait clip: landscape pixels + a display matrix saying "turn 90 degrees counter-clockwise"
    subprocess.run([ff, "-loglevel", "error", "-y", "-display_rotation", "90", "-i", str(base), "-c", "copy",
                    str(rotated)], check=True)
    f = open_footage(rotated)
    frames = list(f)
    assert (f.width, f.height) == (120, 160) and f.rotation in (90, 270)
    assert len(frames) == 12 and frames[0].image.shape == (160, 120, 3)
    red = (frames[0].image[..., 0] > 150) & (frames[0].image[..., 1] < 80)
    ys, xs = np.nonzero(red)
    assert ys.min() > 160 * 0.7 and xs.max() < 120 * 0.3    # the top-left block turned to the bottom-left
    assert any("rotation metadata" in line for line in f.report())
    assert any("vertical" in line for line in f.report())


def test_variable_frame_rate_clip_keeps_true_timestamps(tmp_path):
    import subprocess
    ff = _ffmpeg()
    pattern = _marked_frames(tmp_path)
    vfr = tmp_path / "vfr.mp4"
    # frames 0-5 every 40 ms, then every 120 ms (a phone dropping its rate in low light); time base 1/25 s
    subprocess.run([ff, "-loglevel", "error", "-y", "-framerate", "25", "-i", pattern, "-vf",
                    "setpts='if(lt(N,6),N,5+(N-5)*3)'", "-fps_mode", "passthrough", "-c:v", "mpeg4",
                    "-q:v", "2", str(vfr)], check=True)
    f = open_footage(vfr)
    frames = list(f)
    assert len(frames) >= 10
    t = np.array([fr.time for fr in frames])
    assert np.allclose(np.diff(t[:6]), 0.04, atol=0.002)
    assert np.allclose(np.diff(t[6:10]), 0.12, atol=0.002)
    assert any("variable frame rate" in line for line in f.report())
    grey = [int(np.median(fr.image[:, 100:, 1])) for fr in frames]
    assert grey[:10] == pytest.approx([10 + 20 * i for i in range(10)], abs=6)   # no frame duplicated or dropped
