#!/usr/bin/env python3
"""Fovea's kernels against PyTorch itself, op by op.

Runs the hidden test `[.torch]` of the GPU test binary (under the
validation layer), which writes each kernel's inputs and outputs as JSON,
then recomputes them with PyTorch in float64:
  - class-weighted cross-entropy: nn.CrossEntropyLoss(weight=w,
    label_smoothing=e) on the valid rows (mean reduction); mixed rows as
    lam * CE(z, y) + (1 - lam) * CE(z, y[(i + shift) % rows]). The mean of
    the kernel's per-row losses must equal torch's loss, and dlogits the
    gradient autograd gives (0 on padding rows);
  - FGSM / PGD: in pixel units, p = x * std + mean, each step
    p = clamp(clamp(p + alpha * sign(g), p0 - eps, p0 + eps), 0, 1), then
    back to standardised units; padding rows keep x0;
  - nn.ChannelShuffle(groups) (its gradient through the view / transpose
    it is defined by) and x * s[:, :, None, None], with their gradients
    from autograd.
Exit 0 when all agree, 77 (a ctest skip) when torch is missing.
Usage: ops_torch_test.py FOVEA_TESTS_GPU
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

from skip import skip_test

try:
    import torch
except ImportError:
    skip_test("torch missing (python3-torch)")

torch.set_default_dtype(torch.float64)
failures = []


def close(name, got, want, atol, rtol=1e-5):
    got = torch.as_tensor(got, dtype=torch.float64).reshape(want.shape)
    err = (got - want).abs() - (atol + rtol * want.abs())
    if err.max() > 0:
        i = int(err.argmax())
        failures.append(f"{name}: element {i} is {got.flatten()[i]:.9g}, torch {want.flatten()[i]:.9g}")
    return float((got - want).abs().max())


def weighted_xent(c):
    b, k, rows = c["batch"], c["classes"], c["rows"]
    z = torch.tensor(c["logits"]).reshape(b, k)
    y = torch.tensor(c["labels"], dtype=torch.long)
    w = torch.tensor(c["weights"])
    zr = z[:rows].clone().requires_grad_()
    ce = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=c["smoothing"])
    if c["lam"] < 1:
        partner = y[(torch.arange(rows) + c["shift"]) % rows]
        loss = c["lam"] * ce(zr, y[:rows]) + (1 - c["lam"]) * ce(zr, partner)
    else:
        loss = ce(zr, y[:rows])
    loss.backward()
    stats = torch.tensor(c["stats"]).reshape(b, 2)
    close("loss", stats[:rows, 0].mean().reshape(1), loss.detach().reshape(1), 1e-6)
    grad = torch.zeros(b, k)
    grad[:rows] = zr.grad
    return close("dlogits", c["dlogits"], grad, 1e-6 * float(grad.abs().max()), 1e-4)


def adversarial(c):
    shape = c["shape"]
    view = (1, shape[1], 1, 1)
    mean, std = torch.tensor(c["mean"]).reshape(view), torch.tensor(c["std"]).reshape(view)
    x0 = torch.tensor(c["x0"]).reshape(shape)
    g = torch.tensor(c["g"]).reshape(shape)
    p0 = x0 * std + mean
    p = p0.clone()
    for _ in range(c["steps"]):
        p = p + c["alpha"] * torch.sign(g)
        p = torch.clamp(torch.min(torch.max(p, p0 - c["eps"]), p0 + c["eps"]), 0, 1)
    want = (p - mean) / std
    want[c["rows"]:] = x0[c["rows"]:]
    return close("x_adv", c["x"], want, 2e-6)


def channel(c):
    shape = c["shape"]
    x = torch.tensor(c["x"]).reshape(shape).requires_grad_()
    s = torch.tensor(c["s"]).reshape(shape[:2]).requires_grad_()
    dy = torch.tensor(c["dy"]).reshape(shape)
    g = c["groups"]
    with torch.no_grad():
        err = close("shuffle", c["shuffled"], torch.nn.ChannelShuffle(g)(x), 0, 0)
    # PyTorch 1.13 has no derivative for channel_shuffle: the gradient comes
    # from autograd through its definition (view, transpose, flatten).
    n, ch, h, w = shape
    shuffled = x.view(n, g, ch // g, h, w).transpose(1, 2).reshape(n, ch, h, w)
    (shuffled * dy).sum().backward()
    err = max(err, close("shuffle by its definition", c["shuffled"], shuffled.detach(), 0, 0))
    err = max(err, close("shuffle backward", c["dshuffle"], x.grad, 0, 0))
    x.grad = None
    scaled = x * s[:, :, None, None]
    (scaled * dy).sum().backward()
    err = max(err, close("scale", c["scaled"], scaled.detach(), 1e-7, 1e-6))
    err = max(err, close("scale dx", c["dx"], x.grad, 1e-7, 1e-6))
    return max(err, close("scale ds", c["ds"], s.grad, 1e-5, 1e-5))


binary = sys.argv[1]
with tempfile.TemporaryDirectory() as out:
    env = dict(os.environ, FOVEA_TEST_OUT=out, FOVEA_VALIDATION="1")
    run = subprocess.run([binary, "[.torch]"], env=env, capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stdout[-4000:], run.stderr[-4000:])
        sys.exit(f"{binary} [.torch] failed with exit code {run.returncode}")
    files = sorted(glob.glob(os.path.join(out, "*.json")))
    if len(files) != 7:
        sys.exit(f"expected 7 cases, found {len(files)}: {files}")
    for path in files:
        case = json.load(open(path))
        before = len(failures)
        err = {"weighted_xent": weighted_xent, "adversarial": adversarial, "channel": channel}[case["op"]](case)
        name = os.path.basename(path)[:-5]
        print(f"{name}: largest difference from torch {err:.3g}" + (" FAILED" if len(failures) > before else ""))
for f in failures:
    print("FAIL", f)
sys.exit(1 if failures else 0)
