#!/usr/bin/env python3
"""fovea train's learning-rate schedules against torch.optim.lr_scheduler.

Runs the MLP for 12 short epochs (256 images, 2 steps each) with each
schedule and compares the `lr` of every metrics.jsonl line (the rate of the
epoch's first step) with the PyTorch scheduler stepped once per epoch;
reduce-on-plateau is fed the same per-epoch losses Fovea saw. Inverse time
and inverse square root have no PyTorch class; LambdaLR carries their
formulas. Exit 0 when every rate agrees to 1e-9 relative; skips (exit 77,
tests/cli/skip.py) when torch is missing.
Usage: lr_schedule_test.py FOVEA_BINARY SOURCE_DIR
"""
import json
import math
import os
import subprocess
import sys
import tempfile

from skip import skip_test

try:
    import torch
except ImportError:
    skip_test("torch missing (python3-torch)")

fovea, src = sys.argv[1], sys.argv[2]
EPOCHS, LR = 12, 0.1
CASES = [
    ("step", ["--lr-schedule", "step", "--lr-step-size", "3", "--lr-gamma", "0.5"],
     lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
    ("multistep", ["--lr-schedule", "multistep", "--lr-milestones", "2,5,9"],
     lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [2, 5, 9], 0.1)),
    ("exponential", ["--lr-schedule", "exponential", "--lr-gamma", "0.8"],
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.8)),
    ("cosine", ["--lr-schedule", "cosine", "--lr-min", "0.001"],
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, EPOCHS, 0.001)),
    ("cosine restarts", ["--lr-schedule", "cosine", "--lr-min", "0.001", "--lr-restart", "2", "--lr-restart-mult", "2"],
     lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 2, 2, 0.001)),
    ("inverse-time", ["--lr-schedule", "inverse-time", "--lr-decay", "0.5"],
     lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + 0.5 * e))),
    ("inverse-sqrt", ["--lr-schedule", "inverse-sqrt", "--lr-decay", "2"],
     lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / math.sqrt(1 + 2 * e))),
    ("linear warm-up then step", ["--lr-schedule", "step", "--lr-step-size", "2", "--lr-gamma", "0.5",
                                  "--warmup-epochs", "3", "--warmup-start", "0.2"],
     lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
         torch.optim.lr_scheduler.LinearLR(o, 0.2, 1.0, total_iters=3),
         torch.optim.lr_scheduler.StepLR(o, 2, 0.5)], milestones=[3])),
    ("plateau", ["--lr-schedule", "plateau", "--plateau-patience", "1", "--plateau-threshold", "0.3",
                 "--lr-gamma", "0.5"],
     lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=1, threshold=0.3)),
]

failures = 0
with tempfile.TemporaryDirectory() as tmp:
    for k, (name, flags, make) in enumerate(CASES):
        out = os.path.join(tmp, f"run{k}")
        cmd = [fovea, "train", "--model", os.path.join(src, "assets/models/mlp.json"), "--limit", "256",
               "--val-split", "0", "--epochs", str(EPOCHS), "--lr", str(LR), "--no-progress", "--out", out] + flags
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {name}: {' '.join(cmd)} -> {r.returncode}: {r.stderr.strip()}")
            failures += 1
            continue
        lines = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
        got = [l["lr"] for l in lines]
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR)
        sched = make(opt)
        want = []
        for e in range(EPOCHS):
            want.append(opt.param_groups[0]["lr"])
            opt.step()
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                sched.step(lines[e]["train_loss"])
            else:
                sched.step()
        worst = max(abs(g - w) / w for g, w in zip(got, want))
        ok = len(got) == EPOCHS and worst <= 1e-9
        print(f"{'ok  ' if ok else 'FAIL'} {name:<26} worst relative difference {worst:.1e}")
        if not ok:
            print(f"     fovea {got}\n     torch {want}")
            failures += 1
        if name == "plateau" and len(set(want)) < 2:
            print("FAIL plateau: the run never reduced its rate, so the case tests nothing")
            failures += 1
sys.exit(1 if failures else 0)
