"""Train the Face Anything network on synthetic data rendered on the fly (training/synth/).

    python -m training.train --preset cpu --out runs/cpu --minutes 60          # CPU, in the background
    python -m training.train --preset gpu --out runs/gpu --steps 20000 --batch 64   # lent GPU machine
    python -m training.train --out runs/cpu --restart --minutes 120 --steps 100000 --lr 4e-4   # warm restart
    python -m training.train --out runs/more --init core/assets/face_anything_cpu.onnx --minutes 120 --lr 4e-4

``--init`` starts a new run from exported weights (an ONNX file written by training.export_onnx, or a
last.pt): the shipped model can be trained further in a checkout that has no checkpoint. The optimizer starts
fresh (hence its own warm-up) and the step count goes on from the file's (its "steps" metadata).

Resumable: re-running with the same --out continues from runs/<name>/last.pt. Every checkpoint also writes
weights.pt (last.pt without the optimizer state: a third of the size, small enough to come back from the lent GPU
machine, whose returned files are capped at 16 MiB; --init, export_onnx and model_card take it like last.pt),
log.jsonl (one line per logged step) and curves.png. A replay buffer keeps ``--buffer`` rendered samples and
replaces ``--refresh`` of them per step, so a CPU run is not bound by rendering speed.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch

from core.presets import PRESETS
from .curves import plot_curves, wall_minutes
from .losses import total_loss
from .model import FaceAnything, count_parameters

log = logging.getLogger(__name__)
KEYS = ("image", "depth", "canon", "mask")
WEIGHTS_FILE = "weights.pt"


def synth_batch(preset, n: int, seed: int, device: str, split: str = "train", identity_scale: float = 1.0) -> dict:
    from .synth import SynthConfig, make_batch
    b = make_batch(SynthConfig(size=preset.size, identity_scale=identity_scale), n, seed, split=split, device=device)
    return {k: b[k] for k in KEYS}


class ReplayBuffer:
    """Fixed-size store of rendered samples (float16 on the training device)."""

    def __init__(self, make, capacity: int, chunk: int, seed: int):
        self.make, self.capacity, self.chunk = make, capacity, chunk
        self.seed = seed
        self.data = None
        self.cursor = 0
        self.rng = np.random.default_rng(seed)

    def _render(self, n):
        b = self.make(n, self.seed)
        self.seed += 1
        return b

    def fill(self):
        parts = [self._render(self.chunk) for _ in range(math.ceil(self.capacity / self.chunk))]
        self.data = {k: torch.cat([p[k] for p in parts])[: self.capacity].half() for k in KEYS}

    def refresh(self, n: int):
        if n <= 0:
            return
        b = self._render(n)
        idx = (torch.arange(n) + self.cursor) % self.capacity
        for k in KEYS:
            self.data[k][idx] = b[k].half()
        self.cursor = int((self.cursor + n) % self.capacity)

    def sample(self, n: int) -> dict:
        idx = torch.as_tensor(self.rng.choice(self.capacity, n, replace=False))
        return {k: v[idx].float() for k, v in self.data.items()}


def train(args, data_fn=None) -> Path:
    preset = PRESETS[args.preset]
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu" and args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = FaceAnything(preset).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    step, rows, init = 0, [], {}
    ckpt_path = out / "last.pt"
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, rows, init = ck["step"], ck.get("rows", []), ck.get("init", {})
        log.info("resumed from %s at step %d", ckpt_path, step)
    elif args.init:
        init = _load_init(model, args.init, preset)
        step = init["steps"]
        log.info("initialised from %s (trained %d steps before)", args.init, step)
    if _warm_restart(args) and step >= args.steps:
        raise ValueError(f"--restart/--init at step {step} needs --steps beyond it "
                         "(with --minutes, --steps is only a cap)")
    make = data_fn or (lambda n, seed: synth_batch(preset, n, seed, device, identity_scale=args.identity_scale))
    buf = ReplayBuffer(make, args.buffer, args.chunk, seed=args.seed * 1_000_003 + step * 7)
    t_fill = time.time()
    buf.fill()
    log.info("buffer of %d samples rendered in %.1fs; model %.2fM params on %s",
             args.buffer, time.time() - t_fill, count_parameters(model) / 1e6, device)
    scale = _canon_scale()
    amp = device == "cuda"
    t0, t_last = time.time(), time.time()
    deadline = t0 + args.minutes * 60 if args.minutes else None

    def save():
        ck = dict(model=model.state_dict(), step=step, rows=rows, preset=preset.name, args=vars(args), init=init)
        for path, extra in ((ckpt_path, dict(opt=opt.state_dict())), (out / WEIGHTS_FILE, {})):
            tmp = path.with_suffix(".pt.tmp")
            torch.save({**ck, **extra}, tmp)
            tmp.replace(path)
        with open(out / "log.jsonl", "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        plot_curves(rows, out / "curves.png")

    cycle_start = step if _warm_restart(args) else 0
    model.train()
    while step < args.steps and (deadline is None or time.time() < deadline):
        lr = learning_rate(args, step, cycle_start, time.time() - t0)
        for g in opt.param_groups:
            g["lr"] = lr
        buf.refresh(args.refresh)
        batch = buf.sample(args.batch)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp):
            pred = model(batch["image"])
        pred = {k: v.float() for k, v in pred.items()}
        loss, details = total_loss(pred, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % args.log_every == 0 or step == 1:
            row = dict(step=step, loss=float(loss.detach()), lr=lr, sec=round(time.time() - t0, 1),
                       canon_err_mm=details["canon_err"] * scale, depth_err_mm=details["depth_err"] * scale,
                       **{f"l_{k}": v for k, v in details.items()})
            if step % (args.log_every * 10) == 0:
                row.update(_quick_eval(model, preset, device, scale))
            rows.append(row)
            log.info("step %d loss %.4f canon %.2fmm depth %.2fmm (%.2fs/step)", step, row["loss"],
                     row["canon_err_mm"], row["depth_err_mm"], (time.time() - t_last) / args.log_every)
            t_last = time.time()
        if step % args.save_every == 0:
            save()
    save()
    return ckpt_path


def _warm_restart(args) -> bool:
    return bool(args.restart or args.init)


def learning_rate(args, step: int, cycle_start: int = 0, elapsed_s: float = 0.0) -> float:
    """Linear warm-up then cosine decay to zero.

    Normally the cosine runs over steps 0..--steps. With --restart the cycle starts again at the resumed step
    (a warm restart; --init implies it); if --minutes is set as well, the decay follows wall time so that the
    learning rate reaches zero exactly when the time budget ends, however fast the machine turns out to be.
    """
    k = step - cycle_start
    if _warm_restart(args) and args.minutes:
        progress = elapsed_s / (args.minutes * 60)
    else:
        progress = k / max(args.steps - cycle_start, 1)
    warm = min(1.0, (k + 1) / args.warmup)
    return args.lr * warm * 0.5 * (1 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


def _load_init(model, path: str, preset) -> dict:
    """Copy weights from an ONNX export or a checkpoint into ``model``; returns where they came from, the steps
    and the wall minutes they were trained for (minutes None when the file does not say)."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx
        from .export_onnx import load_onnx_weights
        src = load_onnx_weights(path)
        if src.preset != preset:
            raise ValueError(f"--init {path} holds preset {src.preset.name!r}, not {preset.name!r}")
        model.load_state_dict(src.state_dict())
        meta = {e.key: e.value for e in onnx.load(str(path), load_external_data=False).metadata_props}
        minutes = float(meta["train_minutes"]) if "train_minutes" in meta else None
        return dict(path=str(path), steps=int(meta.get("steps", 0)), minutes=minutes)
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if ck.get("preset") != preset.name:
        raise ValueError(f"--init {path} holds preset {ck.get('preset')!r}, not {preset.name!r}")
    model.load_state_dict(ck["model"])
    return dict(path=str(path), steps=int(ck["step"]), minutes=wall_minutes(ck))


_EVAL_CACHE = {}


@torch.no_grad()
def _quick_eval(model, preset, device, scale, n: int = 32) -> dict:
    """Mean canonical / depth error in mm on a fixed batch of the held-out split."""
    if "b" not in _EVAL_CACHE:
        _EVAL_CACHE["b"] = synth_batch(preset, n, 12345, device, split="eval")
    b = _EVAL_CACHE["b"]
    model.eval()
    out = model(b["image"])
    model.train()
    m = b["mask"][:, 0]
    nm = m.sum().clamp_min(1)
    ce = ((out["canon"] - b["canon"].permute(0, 2, 3, 1)).norm(dim=-1) * m).sum() / nm
    de = ((out["depth"] - b["depth"][:, 0]).abs() * m).sum() / nm
    return dict(eval_canon_mm=float(ce) * scale, eval_depth_mm=float(de) * scale)


def _canon_scale() -> float:
    from core.head_model import load
    return load().canon_scale


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    ap.add_argument("--out", default="runs/cpu")
    ap.add_argument("--steps", type=int, default=20000, help="schedule length (cosine decay to this step)")
    ap.add_argument("--minutes", type=float, default=0, help="stop after this wall time (0 = no limit)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--restart", action="store_true",
                    help="warm restart: new warm-up + cosine cycle from the resumed step (over --minutes if given)")
    ap.add_argument("--init", default="",
                    help="start a new run from these weights (.onnx export or .pt checkpoint); a warm restart")
    ap.add_argument("--buffer", type=int, default=1024, help="replay buffer size (rendered samples)")
    ap.add_argument("--chunk", type=int, default=32, help="render batch size when filling the buffer")
    ap.add_argument("--refresh", type=int, default=4, help="new samples rendered per step")
    ap.add_argument("--identity-scale", type=float, default=1.0,
                    help="spread of the training identities in identity-std units (synth.SynthConfig.identity_scale); "
                         "the held-out identity corner stays excluded and the eval set keeps 1.0")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--save-every", type=int, default=100)
    return ap.parse_args(argv)


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    path = train(parse_args(argv))
    print(path)


if __name__ == "__main__":
    main()
