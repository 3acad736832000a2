"""Batch baking: many clips -> one output folder per clip and a JSON-lines manifest; resumable.

    python -m bake.batch CLIP|FOLDER|GLOB|LIST.txt ... --out-dir DIR [--formats blend,fbx,csv] [--workers N]
                         [--ray auto|ADDRESS] [--retry-failed] [any per-clip option of bake.cli]
    blender -b --python bake/batch.py -- CLIPS ... --out-dir DIR ...

Clips: video files, image folders (one clip each), folders of video files (each video one clip), globs (quote them)
and list files (``.txt``/``.lst``: one path or glob a line, ``#`` comments, relative to the list file). Every clip is
baked by ``bake.cli.run`` with the per-clip options given here (the options are bake.cli's own argument definitions,
copied from its parser), into ``DIR/<clip name>/<clip name>.blend`` (+ ``.fbx``, ``.glb``, ``.csv``, ``.usdc``,
``_curves.png``, ``_texture.png``, ``overlay/``, ``_overlay.mp4``, ``_render.png`` as ``--formats`` asks) and a
``bake.log`` with that clip's messages (a failed clip's go to ``DIR/<clip name>.failed.log``).

A clip is baked into ``DIR/.tmp-<name>-<id>/`` and renamed to ``DIR/<name>/`` only when all its outputs are written,
then one line is appended to ``DIR/manifest.jsonl``: ``{"clip", "name", "status": "done"|"failed"|"cancelled",
"exit_code", "outputs", "seconds", "stage_seconds", "frames", "tracked", "head", "landmark_fit", "camera_degrees",
"warnings", "error", "finished", "worker"}`` (``head``: the baked head's eye distance in mm, what sized it, and what the
irises read, bake.head_size;
``landmark_fit``: how far the baked head is off the tracker's landmarks, median and worst frame, bake.fit_report,
None where unread: a clip whose worst frame is far off is one to look at; ``camera_degrees``: how far the exported
camera turns, bake.camera_turn, None where it stands still; ``warnings``: the bake's own, as ``bake.log`` says them
after "warning: ", e.g. frames bridged or in a brim's shadow, so that the clips to look at can be picked out of the
manifest). Re-running the
same command skips clips whose last row is ``done`` (and whose folder exists), retries ``cancelled`` ones, and retries
``failed`` ones only with ``--retry-failed``. One bad clip never stops the others. Ctrl-C stops the workers, removes
the temporary folders of the clips in flight, writes a ``cancelled`` row for each and exits 130.

Workers: ``--workers N`` local processes (``concurrent.futures``, spawn context; default 1), each with
``--threads`` onnxruntime intra-op threads (default: the cores divided by the workers) and OMP/OpenBLAS/MKL thread
counts set to the same in the worker initializer, so N workers do not oversubscribe the cores. ``--ray auto|ADDRESS``
submits each clip as a Ray task (``num_cpus`` = the threads per clip) to an existing cluster instead (``auto``: the
one ``ray start`` runs on this machine; ``ray://host:10001`` or ``host:6379`` another); Ray schedules them. The
nodes need this repository at the same path and ``DIR`` on a shared file system. Each worker process loads the
head asset and the networks once (``core.head_model.load`` and the onnxruntime sessions are cached per process).

Exit codes: 0 every clip done (now or in an earlier run), 2 bad arguments or no clips, 6 at least one clip failed
(see the manifest), 130 cancelled.
"""
from __future__ import annotations

import os
import sys

if __package__ in (None, ""):
    # Run as a script (blender -b --python bake/batch.py): as bake/cli.py does, keep bake/ off sys.path.
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    sys.path.insert(0, os.path.dirname(_HERE))

import argparse
import contextlib
import glob
import hashlib
import io
import json
import signal
import socket
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bake import cli  # noqa: E402  (no numpy at import: worker thread settings must come first)
from core.errors import EXIT_CANCELLED, EXIT_OK, FaceCaptureError, InputError  # noqa: E402

EXIT_CLIP_FAILED = 6
MANIFEST = "manifest.jsonl"
TMP_PREFIX = ".tmp-"
LIST_SUFFIXES = (".txt", ".lst")

# output format -> (bake.cli option, file name suffix after the clip name; "/" marks a folder)
FORMATS = {"blend": ("--out", ".blend"), "fbx": ("--fbx", ".fbx"), "glb": ("--glb", ".glb"),
           "csv": ("--csv", ".csv"), "usd": ("--usd", ".usdc"), "plot": ("--plot", "_curves.png"),
           "texture": ("--texture", "_texture.png"), "overlay": ("--overlay", "/overlay"),
           "overlay-video": ("--overlay-video", "_overlay.mp4"), "render": ("--render", "_render.png")}
# bake.cli destinations the batch sets itself (input, output files) or replaces (-h, -q)
_NOT_PER_CLIP = {"help", "input", "quiet"} | {opt[2:].replace("-", "_") for opt, _ in FORMATS.values()}
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


class BadBatchArguments(InputError):
    """The batch command line is invalid, or names no clip."""


# ---------------------------------------------------------------- arguments
def _per_clip_actions() -> list[argparse.Action]:
    return [a for a in cli.build_parser()._actions if a.dest not in _NOT_PER_CLIP]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bake.batch", description=__doc__.split("\n\n")[0], allow_abbrev=False,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clips", nargs="+", help="video files, image folders, folders of videos, globs, list files")
    p.add_argument("--out-dir", required=True, type=Path, help="one folder per clip and manifest.jsonl go here")
    p.add_argument("--formats", default="blend",
                   help=f"outputs per clip, comma-separated from {', '.join(FORMATS)} (default blend; the .blend "
                        "is always written)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    p.add_argument("--ray", default=None, metavar="auto|ADDRESS",
                   help="run each clip as a task on this Ray cluster instead of local workers")
    p.add_argument("--retry-failed", action="store_true", help="bake again the clips whose last row is 'failed'")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    g = p.add_argument_group("per-clip options (those of bake.cli; see python -m bake.cli --help)")
    for a in _per_clip_actions():
        g._add_action(a)        # argparse's own way of sharing definitions (what parents= does)
    return p


def clip_options(argv: list[str]) -> list[str]:
    """The per-clip options among the batch's arguments, as typed (bake.cli parses them again per clip)."""
    actions = {s: a for a in _per_clip_actions() for s in a.option_strings}
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        a = actions.get(tok.split("=", 1)[0])
        if a is None:
            i += 1
            continue
        n = 1 if "=" in tok or a.nargs == 0 else 1 + (1 if a.nargs is None else int(a.nargs))
        out += argv[i:i + n]
        i += n
    return out


@dataclass(frozen=True)
class Job:
    clip: str                # absolute path
    name: str                # output folder name
    argv: tuple              # bake.cli arguments without INPUT and the output files
    formats: tuple
    threads: int


def clip_name(path: Path, taken: set) -> str:
    """The clip's output folder name: its stem, made unique with a short hash of its path."""
    stem = path.stem if path.suffix else path.name
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem) or "clip"
    name = stem if stem not in taken else f"{stem}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    taken.add(name)
    return name


def expand_clips(items: list[str]) -> list[Path]:
    """Clip paths in the given order, each once; see the module docstring for what an item may be."""
    from core.footage import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, natural_key
    out: list[Path] = []

    def add(p: Path, base: Path | None = None):
        p = (base / p if base is not None and not p.is_absolute() else p).expanduser()
        if glob.has_magic(str(p)):
            matches = sorted(glob.glob(str(p)), key=natural_key)
            if not matches:
                raise BadBatchArguments(f"{p}: the pattern matches no file")
            for m in matches:
                add(Path(m))
        elif p.is_dir():
            videos = sorted((q for q in p.iterdir() if q.is_file() and q.suffix.lower() in VIDEO_EXTENSIONS),
                            key=lambda q: natural_key(q.name))
            if videos:
                out.extend(videos)
            elif any(q.suffix.lower() in IMAGE_EXTENSIONS for q in p.iterdir()):
                out.append(p)             # an image sequence: one clip
            else:
                raise BadBatchArguments(f"{p}: folder holds neither video files nor images")
        elif p.suffix.lower() in LIST_SUFFIXES:
            if not p.is_file():
                raise BadBatchArguments(f"list file {p} does not exist")
            for line in p.read_text().splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    add(Path(line), p.parent)
        elif p.exists():
            out.append(p)
        else:
            raise BadBatchArguments(f"clip {p} does not exist")

    for item in items:
        add(Path(item))
    seen, unique = set(), []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(key)
    return unique


def parse_args(argv: list[str]) -> argparse.Namespace:
    try:
        ns = build_parser().parse_args(argv)
    except SystemExit as e:
        raise BadBatchArguments("invalid command line (see the message above)") if e.code else e
    ns.formats = tuple(dict.fromkeys(["blend"] + [f.strip() for f in ns.formats.split(",") if f.strip()]))
    unknown = [f for f in ns.formats if f not in FORMATS]
    if unknown:
        raise BadBatchArguments(f"--formats: unknown {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    if ns.workers < 1:
        raise BadBatchArguments(f"--workers must be >= 1, not {ns.workers}")
    ns.clip_argv = tuple(clip_options(argv))
    try:      # the per-clip options get bake.cli's own checks once, before any work
        cli.parse_args(["clip.mp4", "--out", "clip.blend", *ns.clip_argv])
    except cli.BadArguments as e:
        raise BadBatchArguments(f"per-clip options: {e}") from None
    return ns


def threads_per_clip(ns: argparse.Namespace) -> int:
    if getattr(ns, "threads", 0):
        return int(ns.threads)
    return max(1, (os.cpu_count() or 1) // (1 if ns.ray else ns.workers))


# ---------------------------------------------------------------- manifest
def read_manifest(path: Path) -> dict[str, dict]:
    """The last row per clip (a torn last line from a killed run is ignored)."""
    rows: dict[str, dict] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            rows[row["clip"]] = row
    return rows


def append_row(path: Path, row: dict) -> None:
    """One JSON line, written with one call and flushed to disk before the next clip is reported."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- one clip (in a worker)
def set_thread_env(threads: int) -> None:
    """Thread counts of the numeric libraries; effective when set before numpy/OpenCV are imported."""
    for k in THREAD_ENV:
        os.environ[k] = str(threads)


def _drop_blender_script_paths() -> None:
    """A parent that imported the bpy module (a test session, a script that built a scene first) has put Blender's
    script folders (``.../bpy/<version>/scripts/...``) first on sys.path, and a spawned worker inherits its sys.path:
    there ``import bpy`` found the scripts' own ``bpy`` package, which needs Blender's built-in ``_bpy``, instead of
    the bpy module ("No module named '_bpy'"). The worker's own ``import bpy`` adds the folders back."""
    def blender_scripts(p: str) -> bool:
        parts = Path(p).parts
        return any(parts[i] == "scripts" and parts[i - 2] == "bpy" for i in range(2, len(parts)))
    sys.path[:] = [p for p in sys.path if not blender_scripts(p)]


def init_worker(threads: int) -> None:
    """Local worker initializer: the inherited sys.path without Blender's script folders, thread counts, Ctrl-C left
    to the parent (which stops the workers), the head asset loaded once."""
    _drop_blender_script_paths()
    set_thread_env(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import cv2
    cv2.setNumThreads(threads)
    from core import head_model
    head_model.load()


def stop_pool(ex) -> None:
    """End a ProcessPoolExecutor's workers now, running calls included (Python 3.11's executor has no public way to
    end running calls), and drop the queued ones."""
    for p in list(getattr(ex, "_processes", {}).values()):
        p.terminate()
    ex.shutdown(wait=True, cancel_futures=True)


def clip_argv(job: Job, folder: Path) -> list[str]:
    argv = [job.clip]
    for f in job.formats:
        opt, suffix = FORMATS[f]
        argv += [opt, str(folder / (suffix[1:] if suffix.startswith("/") else job.name + suffix))]
    return argv + list(job.argv) + ["--threads", str(job.threads)]


@contextlib.contextmanager
def _recording_stats(sink: list):
    """Keep the BakeStats of the pipeline run that bake.cli makes, the baked head's size and its landmark fit (for
    the manifest)."""
    from bake import pipeline
    from bake.fit_report import report
    from bake.head_size import size_report
    original = pipeline.reconstruct

    def recorded(*a, **k):
        tracks, stats = original(*a, **k)
        sink.append((stats, size_report(tracks, stats), report(stats)))
        return tracks, stats

    pipeline.reconstruct = recorded
    try:
        yield
    finally:
        pipeline.reconstruct = original


def bake_clip(job: Job, tmp_dir: str) -> dict:
    """Bake one clip into ``tmp_dir`` with bake.cli (its messages into ``tmp_dir/bake.log``); the manifest row."""
    folder = Path(tmp_dir)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    stats: list = []
    log_text = io.StringIO()
    with _recording_stats(stats), contextlib.redirect_stderr(log_text):
        try:
            code = cli.run(clip_argv(job, folder))
        except BaseException as e:      # noqa: BLE001 -- cli.run returns codes; this is a last guard
            print(f"face capture: unexpected error: {type(e).__name__}: {e}", file=sys.stderr)
            code = 1
    text = log_text.getvalue()
    (folder / "bake.log").write_text(text)
    errors = [ln.split(": ", 2)[-1] if ": error: " in ln else ln.split(": ", 1)[1] for ln in text.splitlines()
              if ln.startswith("face capture: ") and (": error: " in ln or ": unexpected error: " in ln
                                                      or ln.endswith("cancelled"))]
    s, head, fit = stats[-1] if stats else (None, None, None)
    return {"clip": job.clip, "name": job.name,
            "status": "done" if code == EXIT_OK else ("cancelled" if code == EXIT_CANCELLED else "failed"),
            "exit_code": code,
            "outputs": sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()),
            "seconds": round(time.perf_counter() - t0, 3),
            "stage_seconds": {k: round(v, 3) for k, v in s.stage_seconds.items()} if s else {},
            "frames": s.frames_total if s else 0, "tracked": s.frames_tracked if s else 0, "head": head,
            "landmark_fit": fit, "camera_degrees": None if s is None or s.camera_degrees is None
            else round(s.camera_degrees, 3), "warnings": list(s.warnings) if s else [],
            "error": None if code == EXIT_OK else (errors[-1] if errors else f"exit code {code}"),
            "finished": _now(), "worker": f"{socket.gethostname()}:{os.getpid()}", "options": list(job.argv)}


# ---------------------------------------------------------------- Ray
_RAY_TASK = None


def _ray_task(threads: int):
    """``bake_clip`` as a Ray remote function using ``threads`` CPUs (the thread settings are made in the task: a Ray
    worker process is reused, so they hold from its first task on)."""
    global _RAY_TASK
    import ray
    if _RAY_TASK is None:
        def run_on_ray(job: Job, tmp_dir: str) -> dict:
            set_thread_env(job.threads)
            import cv2
            cv2.setNumThreads(job.threads)
            return bake_clip(job, tmp_dir)
        _RAY_TASK = ray.remote(run_on_ray)
    return _RAY_TASK.options(num_cpus=threads, max_retries=0)


def ray_connect(address: str) -> None:
    import ray
    root = str(Path(__file__).resolve().parents[1])
    env = {"env_vars": {"PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}}
    if not ray.is_initialized():       # else: the caller's ray.init() (e.g. a local instance in a test)
        ray.init(address=address, runtime_env=env, log_to_driver=False)


# ---------------------------------------------------------------- the batch
class Batch:
    """Runs the jobs, keeps the manifest and the output folders consistent, prints progress."""

    def __init__(self, out_dir: Path, jobs: list[Job], skipped: int, quiet: bool):
        self.out_dir, self.jobs, self.quiet = out_dir, jobs, quiet
        self.manifest = out_dir / MANIFEST
        self.counts = {"done": 0, "failed": 0, "cancelled": 0, "skipped": skipped}
        self.t0 = time.monotonic()
        self.total = len(jobs) + skipped
        self.tmp: dict[str, Path] = {}

    def tmp_dir(self, job: Job) -> Path:
        d = self.out_dir / f"{TMP_PREFIX}{job.name}-{os.getpid()}"
        shutil.rmtree(d, ignore_errors=True)
        self.tmp[job.clip] = d
        return d

    def finish(self, row: dict) -> None:
        """Move a done clip's folder into place, drop a failed one's outputs (its log is kept), append the row."""
        tmp = self.tmp.pop(row["clip"])
        final = self.out_dir / row["name"]
        failed_log = self.out_dir / f"{row['name']}.failed.log"
        if row["status"] == "done":
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
            failed_log.unlink(missing_ok=True)
        else:
            if (tmp / "bake.log").is_file():
                (tmp / "bake.log").replace(failed_log)
            shutil.rmtree(tmp, ignore_errors=True)
            row = {**row, "outputs": []}
        append_row(self.manifest, row)
        self.counts[row["status"]] += 1
        self.progress(row)

    def cancel_in_flight(self) -> None:
        for clip, tmp in list(self.tmp.items()):
            shutil.rmtree(tmp, ignore_errors=True)
            job = next(j for j in self.jobs if j.clip == clip)
            append_row(self.manifest, {"clip": clip, "name": job.name, "status": "cancelled",
                                       "exit_code": EXIT_CANCELLED, "outputs": [], "seconds": None,
                                       "stage_seconds": {}, "frames": 0, "head": None, "error": "cancelled (Ctrl-C)",
                                       "finished": _now(), "worker": None})
            self.counts["cancelled"] += 1
        self.tmp.clear()

    def progress(self, row: dict) -> None:
        if self.quiet:
            return
        c = self.counts
        n = c["done"] + c["failed"] + c["cancelled"] + c["skipped"]
        el = time.monotonic() - self.t0
        ran = n - c["skipped"]
        eta = f", ~{el / ran * (self.total - n):.0f} s left" if ran and n < self.total else ""
        what = f"{row['name']} {row['status']} in {row['seconds']} s" if row.get("seconds") is not None else \
            f"{row['name']} {row['status']}"
        if row.get("error"):
            what += f": {row['error']}"
        bar = "#" * int(20 * n / max(1, self.total))
        print(f"batch [{bar:<20}] {n}/{self.total} clips ({c['done']} done, {c['failed']} failed, {c['skipped']} "
              f"skipped), {el:.0f} s{eta} | {what}", file=sys.stderr, flush=True)

    def run_local(self, workers: int, threads: int) -> None:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool
        ex = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=init_worker, initargs=(threads,))
        try:
            running = {ex.submit(bake_clip, job, str(self.tmp_dir(job))): job for job in self.jobs}
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    job = running.pop(fut)
                    try:
                        row = fut.result()
                    except BrokenProcessPool as e:     # a worker died (killed, out of memory): that clip failed
                        row = self.crashed(job, f"worker process died: {e}")
                    except Exception as e:   # noqa: BLE001 -- e.g. an unpicklable result; the clip failed
                        row = self.crashed(job, f"{type(e).__name__}: {e}")
                    self.finish(row)
        except KeyboardInterrupt:
            stop_pool(ex)      # their clips' temporary folders are removed below
            raise
        ex.shutdown(wait=True)

    def run_ray(self, threads: int) -> None:
        import ray
        task = _ray_task(threads)
        refs = {task.remote(job, str(self.tmp_dir(job))): job for job in self.jobs}
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    job = refs.pop(ref)
                    try:
                        row = ray.get(ref)
                    except Exception as e:   # noqa: BLE001 -- a task that died (ray.exceptions.RayError)
                        row = self.crashed(job, f"{type(e).__name__}: {e}")
                    self.finish(row)
        except KeyboardInterrupt:
            for ref in refs:
                ray.cancel(ref, force=True)
            raise

    def crashed(self, job: Job, message: str) -> dict:
        return {"clip": job.clip, "name": job.name, "status": "failed", "exit_code": 1, "outputs": [],
                "seconds": None, "stage_seconds": {}, "frames": 0, "head": None, "error": message, "finished": _now(),
                "worker": None}


def plan(ns: argparse.Namespace) -> tuple[list[Job], int, int]:
    """The jobs still to run, the number of clips skipped as done and as failed before (without --retry-failed)."""
    clips = expand_clips(ns.clips)
    if not clips:
        raise BadBatchArguments("no clips given")
    previous = read_manifest(ns.out_dir / MANIFEST)
    taken = {row["name"] for row in previous.values()}
    by_clip = {c: row["name"] for c, row in previous.items()}
    opts, threads = ns.clip_argv, threads_per_clip(ns)
    jobs, done, failed = [], 0, 0
    for c in clips:
        key = str(c)
        row = previous.get(key)
        if row is not None:
            if row["status"] == "done" and (ns.out_dir / row["name"]).is_dir():
                done += 1
                continue
            if row["status"] == "failed" and not ns.retry_failed:
                failed += 1
                continue
        name = by_clip.get(key) or clip_name(c, taken)
        jobs.append(Job(key, name, opts, ns.formats, threads))
    return jobs, done, failed


def run(argv=None) -> int:
    """Parse ``argv`` (default: the script arguments) and bake every clip; the batch's exit code."""
    try:
        ns = parse_args(cli.script_argv() if argv is None else list(argv))
        ns.out_dir.mkdir(parents=True, exist_ok=True)
        for d in ns.out_dir.glob(TMP_PREFIX + "*"):          # left by a run that was killed outright
            shutil.rmtree(d, ignore_errors=True)
        jobs, done_before, failed_before = plan(ns)
        if ns.ray and jobs:
            try:
                ray_connect(ns.ray)
            except ImportError:
                raise BadBatchArguments("--ray needs the ray package (pip install ray)") from None
            except Exception as e:   # noqa: BLE001 -- ray.init raises ConnectionError, RuntimeError, ValueError
                raise BadBatchArguments(f"cannot connect to the Ray cluster at {ns.ray}: {e}") from None
    except (FaceCaptureError, OSError) as e:
        print(f"batch: error: {e}", file=sys.stderr)
        return BadBatchArguments.exit_code
    batch = Batch(ns.out_dir, jobs, done_before + failed_before, ns.quiet)
    if not ns.quiet:
        print(f"batch: {len(jobs)} clips to bake, skipped {done_before} done and {failed_before} failed before"
              + (" (--retry-failed bakes those again)" if failed_before else "")
              + f", {threads_per_clip(ns)} threads per clip, "
              + (f"Ray at {ns.ray}" if ns.ray else f"{min(ns.workers, max(1, len(jobs)))} local workers"),
              file=sys.stderr, flush=True)
    try:
        if jobs:
            if ns.ray:
                batch.run_ray(threads_per_clip(ns))
            else:
                batch.run_local(min(ns.workers, len(jobs)), threads_per_clip(ns))
    except KeyboardInterrupt:
        batch.cancel_in_flight()
        print(f"batch: cancelled; {MANIFEST} lists what finished, re-run the same command to resume",
              file=sys.stderr)
        return EXIT_CANCELLED
    if batch.counts["failed"] or failed_before:
        print(f"batch: {batch.counts['failed'] + failed_before} clips failed (see {ns.out_dir / MANIFEST})",
              file=sys.stderr)
        return EXIT_CLIP_FAILED
    return EXIT_OK


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
