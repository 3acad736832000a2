"""One clip's per-frame stage in chunks on worker processes, merged by one clip solve (repository entry point, like
bake.batch: not shipped in the extension, whose Blender session runs the single-process pipeline).

    from bake.chunked import reconstruct_chunked
    tracks, stats = reconstruct_chunked(ReconConfig(source="long.mp4"), workers=2, chunk_frames=300)
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np

from core import head_model
from core.errors import BakeError, Cancelled

from .batch import init_worker, stop_pool
from .camera_turn import joined_views
from .config import ReconConfig
from .observations import ObservationStore
from .pipeline import Observed, _solve_observed, observe, reconstruct
from .types import BakeStats, SceneTracks


def chunk_ranges(config: ReconConfig, reported: int, chunk_frames: int) -> list[tuple[int, int | None]]:
    """(start, end) footage ranges of consecutive chunks of ``chunk_frames`` used frames each over ``config``'s
    start/end/stride, from the footage's reported frame count; the last chunk keeps ``config.end`` (None: to the
    clip's real end, whatever the count said)."""
    last = reported if config.end is None else min(reported, int(config.end))
    span = max(1, int(chunk_frames)) * config.stride
    starts = list(range(config.start, max(last, config.start + 1), span))
    return [(a, config.end if k == len(starts) - 1 else a + span) for k, a in enumerate(starts)]


def _observe_chunk(config: ReconConfig, keep: tuple[int, int | None]) -> Observed:     # runs in a worker process
    """``observe`` over ``config``'s range, keeping only the frames in ``keep`` = [first, end) (the rest is the
    warm-up and run-out around the chunk: tracker and re-framing settle there)."""
    obs = observe(config)
    lo, hi = keep
    slots = [i for i, f in enumerate(obs.frames) if f >= lo and (hi is None or f < hi)]
    if len(slots) == len(obs.frames):
        return obs
    store = ObservationStore(obs.observations.n_vertices)
    for i in slots:
        store.append(obs.observations[i])
    obs.observations.close()
    return dataclasses.replace(obs, observations=store, faces=[obs.faces[i] for i in slots],
                               frames=tuple(obs.frames[i] for i in slots),
                               source_shares=tuple(obs.source_shares[i] for i in slots) if obs.source_shares else (),
                               background_turns=tuple(obs.background_turns[i] for i in slots)
                               if obs.background_turns else (),
                               camera_views=tuple(obs.camera_views[i] for i in slots) if obs.camera_views else (),
                               camera_lead=tuple((f, v) for f, v in zip(obs.frames, obs.camera_views) if f < lo),
                               cuts=tuple(f for f in obs.cuts if f >= lo and (hi is None or f < hi)))


def reconstruct_chunked(config: ReconConfig, workers: int = 2, chunk_frames: int = 300, overlap: int = 10,
                        progress: Callable[[float, str], None] | None = None,
                        cancel: Callable[[], bool] | None = None) -> tuple[SceneTracks, BakeStats]:
    """``reconstruct`` with the per-frame stage (``observe``) of consecutive chunks of ``chunk_frames`` frames run on
    ``workers`` local processes (spawn context, ``bake.batch.init_worker``: Blender's script folders off sys.path,
    numeric libraries and onnxruntime at ``config.threads`` or the cores divided by the workers), joined in frame order
    for ONE clip solve. A chunk's tracker starts fresh (it acquires the face by detection at the chunk's first frame,
    and the re-framing's offset restarts), and a frame's anchor depth moves with its crop, so each chunk also runs
    ``overlap`` frames before and after its own (tracker and re-framing settle there; those frames are dropped). The
    head's place in the image, its rotation and the ARKit weights then match a single run closely; its distance
    (with its size) moves by about a percent, as the network's depth does with the crops; see tests/test_chunked.py
    for the figures and tolerances. ``workers <= 1`` or a clip of one chunk is plain
    ``reconstruct``. ``stage_seconds`` of the per-frame stages are summed over the workers (process time, not wall
    time)."""
    import multiprocessing
    import os
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from core.footage import open_footage

    t_start = time.perf_counter()
    report = progress or (lambda f, s: None)
    with open_footage(config.source, config.start, config.end, config.stride) as footage:
        reported = int(getattr(footage, "frame_count_reported", 0) or 0)
    ranges = chunk_ranges(config, reported, chunk_frames) if reported else [(config.start, config.end)]
    if workers <= 1 or len(ranges) <= 1:
        return reconstruct(config, progress, cancel)
    threads = int(config.threads) or max(1, (os.cpu_count() or 1) // workers)
    pad = max(0, int(overlap)) * config.stride
    def padded_end(b):
        return None if b is None else (b + pad if config.end is None else min(config.end, b + pad))
    chunks = [(dataclasses.replace(config, start=max(config.start, a - pad), end=padded_end(b), threads=threads),
               (a, b)) for a, b in ranges]
    ex = ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=multiprocessing.get_context("spawn"),
                             initializer=init_worker, initargs=(threads,))
    results: dict[int, Observed] = {}
    try:
        running = {ex.submit(_observe_chunk, c, keep): k for k, (c, keep) in enumerate(chunks)}
        while running:
            finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            if cancel is not None and cancel():
                raise Cancelled("reconstruction cancelled")
            for fut in finished:
                results[running.pop(fut)] = fut.result()
            report(0.9 * len(results) / len(chunks), f"{len(results)}/{len(chunks)} chunks: tracking and network")
    except BaseException:
        stop_pool(ex)
        raise
    ex.shutdown(wait=True)
    parts = [results[k] for k in range(len(chunks))]
    head = head_model.load()
    store = ObservationStore(head.n_vertices)
    faces: list = []
    frames: list[int] = []
    shares: list[float] = []
    turns: list[float] = []
    views: list = []
    seen: dict = {}                       # footage frame -> its view in the first chunk's camera (bake.camera_turn)
    stage: dict = {}
    warnings: list = []
    for p in parts:
        store.extend(p.observations)
        p.observations.close()
        faces += p.faces
        frames += p.frames
        shares += p.source_shares or [1.0] * len(p.frames)
        turns += p.background_turns or [float("nan")] * len(p.frames)   # a part without them: unread
        joined = joined_views(seen, p.camera_lead, p.camera_views) if p.camera_views else np.full((len(p.frames), 3),
                                                                                                  np.nan)
        views += list(joined)
        seen.update(zip(p.frames, joined))
        for k, v in p.stage_seconds.items():
            stage[k] = stage.get(k, 0.0) + v
        warnings += [w for w in p.warnings if w not in warnings]
    if any(b <= a for a, b in zip(frames, frames[1:])):
        raise BakeError("chunked reconstruction: the chunks' frames are not in increasing order")
    p0 = parts[0]
    obs = Observed(store, faces, tuple(frames), p0.fps, p0.K, p0.image_size, p0.footage_path, tuple(warnings), stage,
                   tuple(shares), tuple(turns), tuple(views), cuts=tuple(c for p in parts for c in p.cuts))
    return _solve_observed(config, obs, report, t_start)
