#!/usr/bin/python3
"""The sharpness probe against PyTorch's autograd double-backward.

Protocol, for a finished run directory of `fovea train`:
  1. `fovea sharpness --run DIR --images N --top K` prints lambda_max, the
     top-K eigenvalues, the Hutchinson trace and the Jacobian norm, from
     central differences of float32 GPU gradients.
  2. PyTorch (float64) builds the run's model from its spec
     (tools/torch_parity.py's SpecModel), loads model.safetensors, switches
     to evaluation mode (BatchNorm on its running statistics, dropout off)
     and takes the same first N training images standardised as Fovea does.
     Exact Hessian-vector products by double backward,
     Hv = d/dtheta (grad L(theta) . v), of the mean of the spec's loss
     (cross-entropy with its label smoothing, MSE or BCE with logits); Lanczos
     with full reorthogonalisation (--steps steps) gives the top eigenvalues.
     The Jacobian of the logits with respect to the standardised input is
     taken exactly (one backward per class):
     sqrt(mean over images of ||J(x)||_F^2).
  3. Compare: |lambda_fovea - lambda_torch| / lambda_torch <= --tol (2 %) for
     each of the top-K; the Jacobian norm within --jacobian-tol (a random
     estimate: 8 Rademacher probes per image). Exit 1 on a difference,
     2 on a setup error.

Run with Debian's interpreter: /usr/bin/python3 tools/sharpness_check.py --run DIR
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_parity as tp  # noqa: E402


def fovea_probe(a):
    cmd = [a.fovea, "sharpness", "--run", a.run, "--images", str(a.images), "--top", str(a.top)]
    if a.data:
        cmd += ["--data", a.data]
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise tp.SetupError(f"fovea exited with {p.returncode}:\n{p.stdout}{p.stderr}")
    lines = [line for line in p.stdout.splitlines() if line.strip()]
    if len(lines) != 1:
        raise tp.SetupError(f"fovea sharpness printed {len(lines)} lines on stdout, expected one JSON object:\n{p.stdout}")
    return json.loads(lines[0])


def torch_model(run):
    """The run's model in evaluation mode, float64, and its loss function."""
    weights, meta = tp.read_safetensors(os.path.join(run, "model.safetensors"))
    spec = json.loads(meta["spec"])
    model = tp.SpecModel(spec, os.path.join(run, "model.safetensors (metadata 'spec')"))
    exported = model.exported()
    with torch.no_grad():
        for name, value in weights.items():
            if name in exported:
                exported[name].copy_(torch.from_numpy(value).reshape(exported[name].shape))
    return model.double().eval(), tp.make_loss(spec, argparse.Namespace(label_smoothing=None, weight=None))


def lanczos_top(hvp, n, steps, top, seed=0):
    """Top Ritz values after `steps` Lanczos steps, full reorthogonalisation, float64."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, generator=g, dtype=torch.float64)
    Q = [q / q.norm()]
    alpha, beta = [], []
    for j in range(steps):
        w = hvp(Q[j])
        alpha.append(float(w @ Q[j]))
        for _ in range(2):
            for qi in Q:
                w = w - (w @ qi) * qi
        b = float(w.norm())
        if j + 1 == steps or b < 1e-12:
            break
        beta.append(b)
        Q.append(w / b)
    k = len(alpha)
    T = np.diag(alpha) + np.diag(beta[:k - 1], 1) + np.diag(beta[:k - 1], -1)
    return sorted(np.linalg.eigvalsh(T).tolist(), reverse=True)[:top]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--run", required=True, help="run directory of fovea train")
    p.add_argument("--fovea", default="build/fovea")
    p.add_argument("--data", default="", help="IDX directory (default: the run's)")
    p.add_argument("--images", type=int, default=64, help="the first N training images")
    p.add_argument("--top", type=int, default=2, help="eigenvalues compared")
    p.add_argument("--steps", type=int, default=60, help="PyTorch's Lanczos steps")
    p.add_argument("--tol", type=float, default=0.02, help="relative tolerance on each eigenvalue")
    p.add_argument("--jacobian-tol", type=float, default=0.1, help="relative tolerance on the Jacobian norm")
    a = p.parse_args()
    try:
        got = fovea_probe(a)
        with open(os.path.join(a.run, "summary.json")) as f:
            data = a.data or json.load(f)["data"]
        model, loss_fn = torch_model(a.run)
        x, y = tp.standardised_batch(data, a.images)
        x = x.double()
    except (tp.SetupError, OSError, KeyError, ValueError) as e:
        print(f"setup error: {e}", file=sys.stderr)
        return 2
    params = [q for q in model.parameters() if q.requires_grad]
    n = sum(q.numel() for q in params)
    loss = loss_fn(model(x), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])

    def hvp(v):
        h = torch.autograd.grad(flat @ v, params, retain_graph=True)
        return torch.cat([t.reshape(-1) for t in h]).detach()

    want = lanczos_top(hvp, n, a.steps, a.top)
    xj = x.clone().requires_grad_(True)
    logits = model(xj)
    sq = torch.zeros(a.images, dtype=torch.float64)
    for c in range(logits.shape[1]):
        (gx,) = torch.autograd.grad(logits[:, c].sum(), xj, retain_graph=True)
        sq += gx.reshape(a.images, -1).pow(2).sum(1)
    jac = float(sq.mean().sqrt())

    fails = 0
    print(f"loss: fovea {got['loss']:.6f}, torch {loss.item():.6f}")
    for k in range(a.top):
        rel = abs(got["top"][k] - want[k]) / abs(want[k])
        ok = rel <= a.tol
        fails += not ok
        print(f"eigenvalue {k + 1}: fovea {got['top'][k]:.6g}, torch {want[k]:.6g}, relative {rel:.2e} "
              f"{'ok' if ok else 'FAIL'} (tol {a.tol})")
    rel = abs(got["jacobian_fro"] - jac) / jac
    ok = rel <= a.jacobian_tol
    fails += not ok
    print(f"jacobian_fro: fovea {got['jacobian_fro']:.6g} (8 probes per image), torch {jac:.6g} (exact), "
          f"relative {rel:.2e} {'ok' if ok else 'FAIL'} (tol {a.jacobian_tol})")
    print(f"trace: fovea {got['trace']:.6g} +- {got['trace_se']:.3g} (Hutchinson)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
