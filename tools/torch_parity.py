#!/usr/bin/python3
"""Whole-model parity: K optimizer steps in Fovea and in PyTorch from the same weights.

Protocol, for a Fovea model spec (the JSON `fovea train --model` takes):
  1. Build the model in PyTorch (torch.manual_seed(--seed), PyTorch's default
     initialisation) and save its weights as INIT.safetensors under Fovea's
     names ("<i>.weight" for unnamed layer i, "<name>.weight" for named ones).
  2. Run `fovea train --init INIT.safetensors --shuffle off --val-split 0
     --limit B --batch B --epochs K`: the same batch (the first B training
     images) trained K times, one step per epoch, so metrics.jsonl's
     train_loss of epoch k is the loss of step k before its update. Read the
     final weights from the run's model.safetensors.
  3. Run the same K steps in PyTorch: inputs pixels / 255 standardised with
     the per-channel mean and population std of the WHOLE training file
     (exact integer sums, divided in float64, as Fovea does); the spec's
     "loss" (mean reduction): CrossEntropyLoss(label_smoothing=e) by
     default (e from --label-smoothing, passed to fovea too, else the
     spec's, else 0; with --class-weights, CrossEntropyLoss(weight=w):
     "balanced" is n / (K n_c) over the B images, 0 for a class absent),
     MSELoss or BCEWithLogitsLoss against one-hot labels; the torch.optim optimizer `--optimizer` names (SGD with
     momentum by default) with the hyperparameters given here and
     torch.optim's defaults for the rest, as Fovea resolves them (only the
     options given are passed to fovea, so its defaults are checked too;
     sgd and nesterov default to momentum 0.9 on both sides).
  4. Compare with float64 PyTorch. PyTorch runs the same K steps twice, in
     float32 and in float64. Per step: |loss_fovea - loss_f64| / |loss_f64|;
     per final tensor: max|w_fovea - w_f64| / max|w_f64| (the gated figures)
     and, for information, upd = the same difference / max|w_f64 - w_init|,
     the error measured against how far training moved the tensor. Each row
     passes within max(--tol, --spread x float32 PyTorch's own error on that
     row), both printed. Exit 1 when a row exceeds its bound; 2 on a setup
     error. Why: float32 PyTorch's results move with the CPU's kernels, and
     adaptive optimizers amplify rounding (1.03e-4 between Fovea and float32
     PyTorch on one CPU, under 1e-4 on another); a bound scaled by PyTorch's
     own rounding on the same run holds on any CPU, while the floor still
     catches a wrong term (1e-3 relative or more). --spread 0 compares with
     one PyTorch run (float32, or float64 with --float64) within --tol.
  Penalties and clipping (--l1, --l2, --penalize-biases, --clip-value,
  --clip-norm, and a layer's "l1"/"l2" in the spec) are passed to fovea and
  mirrored in PyTorch: l1 sum|w| + (l2 / 2) sum w^2 over the same tensors is
  added to the loss before backward(); then clip_grad_value_, then
  clip_grad_norm_, then opt.step(). The losses compared stay the data loss
  (Fovea's train_loss); the last epoch's reported `penalty` is compared with
  the penalty of PyTorch's final weights.
  For models whose training amplifies rounding (sums with heavy
  cancellation, as in BatchNorm's gradients), the spread asks Fovea to be
  as exact as PyTorch rather than to reproduce PyTorch's rounding.

  --freeze LAYERS freezes layers on both sides: in PyTorch their modules
  get requires_grad_(False) and eval() (BatchNorm on running statistics),
  and take no penalty.

  --augment fgsm:EPS or pgd:EPS:STEPS (fovea's adversarial training, P = 1)
  attacks each step's batch in PyTorch as Fovea does (src/nn/model.h): the
  model in eval() (BatchNorm on running statistics), g = d(data loss)/dx by
  autograd, x' = clamp(clamp(x' + alpha / std sign(g), x -+ eps / std), the
  standardised images of pixels 0 and 1), alpha = eps (FGSM) or
  2.5 eps / STEPS from x' = x (PGD); then the step trains on x'.

  Aux heads (aux_head): their logits, in training, add weight x the same
  loss to the compared loss, as Fovea's train_loss does.

  Models with random layers (dropout, dropout2d, gaussian_dropout,
  alpha_dropout, drop_connect, stochastic_depth) are refused (exit 2): the
  masks Fovea draws are not PyTorch's. At p = 0 they are the identity and
  compared as such.

Run with Debian's interpreter: /usr/bin/python3 tools/torch_parity.py --model SPEC
The safetensors reader and writer here are plain Python (struct + json).
"""
import argparse
import copy
import gzip
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_spec_model import (  # noqa: E402,F401  (re-exported for sharpness_check and bench_torch)
    SetupError, write_safetensors, read_safetensors, write_fixture, spectral, WSConv2d, f32, pair, SpecModel,
    ACTIVATIONS, STRUCTURAL, RANDOM_LAYERS, RANDOM_OPTIONS)


# ---- data --------------------------------------------------------------------

def read_idx(directory, name):
    """An IDX file as a uint8 array; the raw file wins over NAME.gz, as in Fovea."""
    path = os.path.join(directory, name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            raw = f.read()
    elif os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            raw = f.read()
    else:
        raise SetupError(f"missing {path}(.gz)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def standardised_batch(directory, count, stats=None):
    """The first `count` training images [count, C, H, W] standardised as Fovea
    does, and their labels. Statistics: exact integer sums over the whole
    file (a byte histogram), then mean and population variance in float64;
    appended to `stats` (a list) as (mean, std) per channel, pixel units."""
    images = read_idx(directory, "train-images-idx3-ubyte")
    labels = read_idx(directory, "train-labels-idx1-ubyte")
    if images.ndim == 3:
        images = images[:, None]
    x = images[:count].astype(np.float64) / 255.0
    for ch in range(images.shape[1]):
        hist = np.bincount(images[:, ch].reshape(-1), minlength=256).astype(object)
        k = np.arange(256, dtype=object)
        n = float(images.shape[0] * images.shape[2] * images.shape[3])
        mean = float(int((hist * k).sum())) / n                       # in bytes
        var = float(int((hist * k * k).sum())) / n - mean * mean      # population
        x[:, ch] = (x[:, ch] - mean / 255.0) / (np.sqrt(max(var, 0.0)) / 255.0)
        if stats is not None:
            stats.append((mean / 255.0, np.sqrt(max(var, 0.0)) / 255.0))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(labels[:count].astype(np.int64))


def parse_attack(text):
    """--augment fgsm:EPS or pgd:EPS:STEPS -> (eps, steps); None for none."""
    if not text:
        return None
    kind, *v = text.split(":")
    if (kind, len(v)) not in (("fgsm", 1), ("pgd", 2)):
        raise SetupError(f"--augment: expected fgsm:EPS or pgd:EPS:STEPS (P = 1), got {text!r}")
    return float(v[0]), int(v[1]) if kind == "pgd" else 1


def adversarial(model, x, y, a):
    """The batch Fovea trains on under --augment fgsm / pgd (see the docstring)."""
    eps, steps = a.attack
    alpha = eps if steps == 1 else 2.5 * eps / steps
    mean = torch.tensor([m for m, _ in a.stats], dtype=x.dtype).view(1, -1, 1, 1)
    inv = torch.tensor([1.0 / s for _, s in a.stats], dtype=x.dtype).view(1, -1, 1, 1)
    lo, hi = -mean * inv, (1 - mean) * inv
    modes = [m.training for m in model.modules()]
    model.eval()
    xa = x.clone()
    for _ in range(steps):
        xa.requires_grad_(True)
        g, = torch.autograd.grad(a.loss_fn(model(xa), y), xa)
        with torch.no_grad():
            v = xa + f32(alpha) * inv * g.sign()
            v = torch.minimum(torch.maximum(v, x - f32(eps) * inv), x + f32(eps) * inv)
            xa = torch.minimum(torch.maximum(v, lo), hi)
    for m, mode in zip(model.modules(), modes):
        m.training = mode
    return xa.detach()


# ---- the two runs ------------------------------------------------------------

# --optimizer NAME: (torch.optim class, fixed keyword arguments, the
# hyperparameter options it reads). --beta1/--beta2 are torch's `betas`.
OPTIMIZERS = {
    "sgd": (torch.optim.SGD, {}, ("momentum", "weight_decay")),
    "nesterov": (torch.optim.SGD, {"nesterov": True}, ("momentum", "weight_decay")),
    "adagrad": (torch.optim.Adagrad, {}, ("eps", "weight_decay")),
    "rmsprop": (torch.optim.RMSprop, {}, ("alpha", "eps", "momentum", "centered", "weight_decay")),
    "adadelta": (torch.optim.Adadelta, {}, ("rho", "eps", "weight_decay")),
    "adam": (torch.optim.Adam, {}, ("beta1", "beta2", "eps", "weight_decay")),
    "adamw": (torch.optim.AdamW, {}, ("beta1", "beta2", "eps", "weight_decay")),
    "amsgrad": (torch.optim.Adam, {"amsgrad": True}, ("beta1", "beta2", "eps", "weight_decay")),
    "adamax": (torch.optim.Adamax, {}, ("beta1", "beta2", "eps", "weight_decay")),
    "nadam": (torch.optim.NAdam, {}, ("beta1", "beta2", "eps", "momentum_decay", "weight_decay")),
}
HYPERPARAMETERS = ("momentum", "weight_decay", "beta1", "beta2", "eps", "alpha", "rho", "momentum_decay")


def resolve_optimizer(a):
    """Fills a.lr (sgd, nesterov: 0.05; others: torch's default) and, for sgd
    and nesterov, a.momentum (Fovea's 0.9); refuses an option the optimizer
    does not read. Returns the hyperparameters given: {name: value}."""
    cls, _, reads = OPTIMIZERS[a.optimizer]
    given = {h: getattr(a, h) for h in HYPERPARAMETERS if getattr(a, h) is not None}
    if a.centered:
        given["centered"] = True
    for h in given:
        if h not in reads:
            raise SetupError(f"--{h.replace('_', '-')} does not apply to --optimizer {a.optimizer}")
    if a.lr is None:
        a.lr = 0.05 if a.optimizer in ("sgd", "nesterov") else inspect.signature(cls).parameters["lr"].default
    if a.optimizer in ("sgd", "nesterov") and a.momentum is None:
        a.momentum = 0.9
    return given


def make_optimizer(a, params):
    """The torch.optim optimizer of --optimizer; the values given (and lr) as
    the float32 numbers Fovea holds, torch's defaults for the rest."""
    cls, fixed, _ = OPTIMIZERS[a.optimizer]
    kw = dict(fixed, lr=f32(a.lr))
    for h in ("momentum", "weight_decay", "eps", "alpha", "rho", "momentum_decay"):
        if getattr(a, h) is not None:
            kw[h] = f32(getattr(a, h))
    if a.beta1 is not None or a.beta2 is not None:
        b1, b2 = inspect.signature(cls).parameters["betas"].default
        kw["betas"] = (f32(a.beta1) if a.beta1 is not None else b1, f32(a.beta2) if a.beta2 is not None else b2)
    if a.centered:
        kw["centered"] = True
    return cls(params, **kw)


WEIGHTED = ("dense", "conv2d", "conv_transpose2d", "squeeze_excitation")


def spec_layers(spec):
    """[(index or None, tensor prefix, layer)]: the main layers, then each aux
    head's ("<head's prefix>.<j>")."""
    out, aux = [], []
    for i, L in enumerate(spec["layers"]):
        name = L.get("name", f"layers.{i}")
        prefix = str(i) if name == f"layers.{i}" else name
        if L.get("type") == "aux_head":
            aux += [(None, f"{prefix}.{j}", A) for j, A in enumerate(L["layers"])]
        else:
            out.append((i, prefix, L))
    return out + aux


def penalty_terms(spec, model, a):
    """[(tensor name, l1, l2)] as Fovea selects them: the weights of dense,
    conv2d, conv_transpose2d and squeeze_excitation layers (the layer's
    "l1"/"l2", else --l1/--l2); biases and normalisation parameters only with
    --penalize-biases."""
    terms = []
    for i, prefix, L in spec_layers(spec):
        if i in a.frozen:
            continue  # frozen layers take no penalty
        weighted = L.get("type") in WEIGHTED
        l1, l2 = L.get("l1", a.l1), L.get("l2", a.l2)
        for tname, (m, attr) in model.export.items():
            rest = tname[len(prefix) + 1:] if tname.startswith(prefix + ".") else None
            if rest != attr and not (L.get("type") == "squeeze_excitation" and rest in ("fc1." + attr, "fc2." + attr)):
                continue
            if not isinstance(getattr(m, attr), nn.Parameter):
                continue  # running statistics, power-iteration vectors
            if (weighted and attr != "bias") or a.penalize_biases:
                if l1 or l2:
                    terms.append((tname, f32(l1), f32(l2)))
    return terms


def torch_penalty(model, terms):
    ex = model.exported()
    return sum(l1 * ex[n].abs().sum() + (l2 / 2) * (ex[n] * ex[n]).sum() for n, l1, l2 in terms)


def run_fovea(a, init_path, out_dir):
    cmd = [a.fovea, "train", "--model", a.model, "--data", a.data, "--init", init_path,
           "--shuffle", "off", "--val-split", "0", "--limit", str(a.batch), "--batch", str(a.batch),
           "--epochs", str(a.steps), "--optimizer", a.optimizer, "--lr", repr(a.lr),
           "--seed", str(a.seed), "--out", out_dir, "--no-progress"]
    for h in HYPERPARAMETERS:  # only what was given (sgd's momentum: always, 0.9 by default)
        if getattr(a, h) is not None:
            cmd += ["--" + h.replace("_", "-"), repr(getattr(a, h))]
    if a.centered:
        cmd.append("--centered")
    for h in ("l1", "l2", "clip_norm", "clip_value"):
        if getattr(a, h):
            cmd += ["--" + h.replace("_", "-"), repr(getattr(a, h))]
    if a.penalize_biases:
        cmd.append("--penalize-biases")
    if a.label_smoothing is not None:
        cmd += ["--label-smoothing", repr(a.label_smoothing)]
    if a.freeze:
        cmd += ["--freeze", a.freeze]
    if a.class_weights:
        cmd += ["--class-weights", a.class_weights]
    if a.augment:
        cmd += ["--augment", a.augment]
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SetupError(f"fovea exited with {p.returncode}:\n{p.stdout}{p.stderr}")
    with open(os.path.join(out_dir, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    losses = [e["train_loss"] for e in lines]
    a.fovea_penalty = lines[-1]["penalty"] if lines else 0.0
    if len(losses) != a.steps:
        raise SetupError(f"metrics.jsonl has {len(losses)} epochs, expected {a.steps}")
    weights, _ = read_safetensors(os.path.join(out_dir, "model.safetensors"))
    return losses, weights


def make_loss(spec, a):
    """The torch loss of the spec's "loss" object: f(logits, labels)."""
    L = spec.get("loss", {"type": "cross_entropy"})
    kind = L.get("type")
    e = a.label_smoothing if a.label_smoothing is not None else L.get("label_smoothing", 0.0)
    classes = int(spec["classes"])
    if kind == "cross_entropy":
        w = a.weight
        # weighted: divided by the sum of the rows' weights, as Fovea does
        return lambda z, y: F.cross_entropy(z, y, weight=None if w is None else w.to(z.dtype),
                                            label_smoothing=f32(e))
    if a.weight is not None:
        raise SetupError(f"--class-weights applies to cross_entropy, and the spec's loss is {kind}")
    if a.label_smoothing is not None:
        raise SetupError(f"--label-smoothing applies to cross_entropy, and the spec's loss is {kind}")
    pointwise = {"mse": nn.MSELoss(), "bce_with_logits": nn.BCEWithLogitsLoss()}.get(kind)
    if pointwise is None:
        raise SetupError(f"unknown loss type {kind!r}")
    return lambda z, y: pointwise(z, F.one_hot(y, classes).to(z.dtype))


def frozen_layers(spec, a):
    """--freeze's layer indices (indices or names, comma-separated)."""
    if not a.freeze:
        return []
    names = {L.get("name", f"layers.{i}"): i for i, L in enumerate(spec["layers"])}
    out = []
    for item in a.freeze.split(","):
        if item not in names and not (item.isdigit() and int(item) < len(spec["layers"])):
            raise SetupError(f"--freeze: no layer {item!r}")
        out.append(names[item] if item in names else int(item))
    return out


def freeze(model, layers):
    """Frozen layers as torch fine-tunes them: no gradient (so no optimizer
    step, weight decay or clipping share) and evaluation mode (BatchNorm on
    its running statistics)."""
    for i in layers:
        fn = model.nodes[i][2]
        if not isinstance(fn, int):
            raise SetupError(f"--freeze: layer {i} has no parameters")
        model.mods[fn].requires_grad_(False)
        model.mods[fn].eval()


def class_weight_tensor(text, y, classes):
    """--class-weights as torch's CrossEntropyLoss weight (None for none)."""
    if not text or text == "none":
        return None
    if text == "balanced":
        n = torch.bincount(y, minlength=classes).double()
        return torch.where(n > 0, len(y) / (classes * n.clamp(min=1)), torch.zeros_like(n))
    w = [float(v) for v in text.split(",")]
    if len(w) != classes:
        raise ValueError(f"--class-weights has {len(w)} weights for {classes} classes")
    return torch.tensor(w, dtype=torch.float64)


def run_torch(model, x, y, a, dtype):
    model = model.to(dtype)
    x = x.to(dtype)
    freeze(model, a.frozen)
    opt = make_optimizer(a, [p for p in model.parameters() if p.requires_grad])
    losses = []
    for _ in range(a.steps):
        xs = adversarial(model, x, y, a) if a.attack else x
        opt.zero_grad()
        loss = a.loss_fn(model(xs), y)  # mean over the batch: the data loss compared
        for weight, z in model.aux_outputs:  # aux heads: + weight x their loss, as Fovea's train_loss
            loss = loss + weight * a.loss_fn(z, y)
        (loss + torch_penalty(model, a.terms) if a.terms else loss).backward()
        if a.clip_value:
            torch.nn.utils.clip_grad_value_(model.parameters(), f32(a.clip_value))
        if a.clip_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), f32(a.clip_norm))
        opt.step()
        losses.append(loss.item())
    return losses


def rel_diff(x, ref):
    """max|x - ref| / max|ref| (float64; 0 for empty tensors)."""
    ref = np.asarray(ref, dtype=np.float64)
    if not ref.size:
        return 0.0
    return float(np.abs(np.asarray(x, dtype=np.float64) - ref).max() / max(np.abs(ref).max(), 1e-12))


def compare(a, fovea, ref, spread, init):
    """Judges Fovea against the reference run `ref` (losses, weights, penalty).

    `spread`, when given, is float32 PyTorch on the same run (`ref` is then
    float64 PyTorch): each row's bound is max(--tol, --spread x float32
    PyTorch's own error), both printed; without it the bound is --tol."""
    (fl, fw), (rl, rw) = fovea, ref
    if set(fw) != set(rw):
        raise SetupError(f"tensor names differ: fovea has {sorted(fw)}, torch has {sorted(rw)}")
    failed, worst = [], 0.0

    def row(what, err, own):
        nonlocal worst
        bound = a.tol if own is None else max(a.tol, a.spread * own)
        worst = max(worst, err / bound)
        failed.extend([what] if err > bound else [])
        own_col = "" if own is None else f" {own:11.2e}"
        return f"{err:10.2e}{own_col} {bound:9.2e}{'  FAIL' if err > bound else ''}"

    ref_name = "f64" if spread else "torch"
    own_head = "" if spread is None else f" {'torch32-f64':>11}"
    print(f"\n{'step':>4}  {'fovea loss':>12}  {'ref loss':>12}  {'fovea-' + ref_name:>10}{own_head} {'bound':>9}")
    for k, r in enumerate(rl):
        own = None if spread is None else rel_diff(spread[0][k], r)
        print(f"{k + 1:>4}  {fl[k]:12.7f}  {r:12.7f}  {row(f'step {k + 1} loss', rel_diff(fl[k], r), own)}")
    print(f"\n{'tensor':<24} {'shape':<18} {'fovea-' + ref_name:>10}{own_head} {'bound':>9} {'upd':>9}"
          "   (max|diff| / max|ref|; upd = max|diff| / max|ref - init|)")
    for name, t in rw.items():
        if list(fw[name].shape) != list(t.shape):
            raise SetupError(f"tensor '{name}': fovea shape {list(fw[name].shape)}, torch shape {list(t.shape)}")
        own = None if spread is None else rel_diff(spread[1][name], t)
        upd = rel_diff(fw[name], t) * max(np.abs(t).max() if t.size else 0.0, 1e-12) / \
            max(np.abs(t - init[name]).max() if t.size else 0.0, 1e-12)
        print(f"{name:<24} {str(list(t.shape)):<18} {row(f'tensor {name}', rel_diff(fw[name], t), own)} {upd:9.2e}")
    if a.terms:
        tp = float(torch_penalty_of(rw, a.terms))
        own = None if spread is None else rel_diff(float(torch_penalty_of(spread[1], a.terms)), tp)
        print(f"\npenalty of the final weights: fovea {a.fovea_penalty:.7g}, ref {tp:.7g}, "
              f"{row('penalty', rel_diff(a.fovea_penalty, tp), own)}")
    rule = f"max({a.tol:g}, {a.spread:g} x float32 PyTorch's own error against float64)" if spread else f"{a.tol:g}"
    print(f"\nbound per row: {rule}; worst error / bound: {worst:.2f}")
    if failed:
        print("PARITY FAILED: " + ", ".join(failed))
        return 1
    print("parity OK")
    return 0


def torch_penalty_of(weights, terms):
    """The penalty of final weights {name: float64 array}, in float64."""
    return sum(l1 * np.abs(weights[n]).sum() + (l2 / 2) * (weights[n] ** 2).sum() for n, l1, l2 in terms)


def exported64(model):
    return {k: v.detach().double().numpy() for k, v in model.exported().items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[2:]))
    p.add_argument("--model", help="Fovea model spec JSON")
    p.add_argument("--fovea", default="build/fovea", help="the fovea binary (default build/fovea)")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--steps", type=int, default=10, help="optimizer steps K (= fovea epochs)")
    p.add_argument("--batch", type=int, default=32, help="batch size B (the first B training images)")
    p.add_argument("--optimizer", default="sgd", choices=sorted(OPTIMIZERS))
    p.add_argument("--lr", type=float, help="default: 0.05 for sgd and nesterov, torch's default for the others")
    p.add_argument("--momentum", type=float, help="sgd, nesterov (default 0.9), rmsprop (default 0)")
    for h in HYPERPARAMETERS[1:]:
        p.add_argument("--" + h.replace("_", "-"), type=float, help="default: torch.optim's")
    p.add_argument("--centered", action="store_true", help="rmsprop: centred")
    p.add_argument("--l1", type=float, default=0.0, help="L1 penalty on weights (fovea --l1)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty on weights, loss += l2/2 sum w^2 (fovea --l2)")
    p.add_argument("--penalize-biases", action="store_true", help="also biases and normalisation parameters")
    p.add_argument("--clip-norm", type=float, default=0.0, help="clip_grad_norm_ max_norm (fovea --clip-norm)")
    p.add_argument("--clip-value", type=float, default=0.0, help="clip_grad_value_ (fovea --clip-value)")
    p.add_argument("--label-smoothing", type=float,
                   help="cross-entropy label smoothing on both sides (fovea --label-smoothing)")
    p.add_argument("--freeze", help="layers frozen on both sides (fovea --freeze; torch: requires_grad off, eval mode)")
    p.add_argument("--class-weights", help="fovea --class-weights: balanced or W0,W1,... (CrossEntropyLoss weight)")
    p.add_argument("--augment", help="fgsm:EPS or pgd:EPS:STEPS: adversarial training on both sides")
    p.add_argument("--seed", type=int, default=0, help="torch.manual_seed for the initial weights")
    p.add_argument("--tol", type=float, default=1e-4, help="largest relative difference accepted")
    p.add_argument("--float64", action="store_true",
                   help="with --spread 0: run the PyTorch side in float64 (a reference free of its own rounding)")
    p.add_argument("--spread", type=float, default=4.0, metavar="F",
                   help="judge against float64 PyTorch: pass within max(--tol, F x float32 PyTorch's own error) "
                        "(default 4); 0: within --tol of one PyTorch run")
    p.add_argument("--keep", action="store_true", help="keep the work directory and print its path")
    p.add_argument("--write-fixture", metavar="PATH", help="write the safetensors test fixture and exit")
    p.add_argument("--cases", metavar="FILE",
                   help="one comparison per line of FILE, each line's options added to the others given "
                        "(# starts a comment); torch is imported once; exit 1 when any case fails")
    a = p.parse_args(argv)
    if a.cases:
        return run_cases(a.cases, sys.argv[1:] if argv is None else argv)
    if a.write_fixture:
        write_fixture(a.write_fixture)
        return 0
    if not a.model:
        p.error("--model is required")
    if a.steps < 1 or a.batch < 1:
        p.error("--steps and --batch must be at least 1")

    work = tempfile.mkdtemp(prefix="torch_parity_")
    try:
        with open(a.model) as f:
            spec = json.load(f)
        torch.manual_seed(a.seed)
        model = SpecModel(spec, a.model)
        init = {k: v.detach().numpy().copy() for k, v in model.exported().items()}
        init_path = os.path.join(work, "init.safetensors")
        write_safetensors(init_path, list(init.items()))
        given = resolve_optimizer(a)
        a.frozen = frozen_layers(spec, a)
        a.terms = penalty_terms(spec, model, a)
        a.attack, a.stats = parse_attack(a.augment), []
        x, y = standardised_batch(a.data, a.batch, a.stats)
        a.weight = class_weight_tensor(a.class_weights, y, spec["classes"])
        a.loss_fn = make_loss(spec, a)
        hyper = "".join(f", {h} {v}" for h, v in given.items() if h != "momentum") + \
            (f", momentum {a.momentum}" if a.momentum is not None else "")
        print(f"torch {torch.__version__}; model {a.model}: {sum(v.size for v in init.values())} parameters "
              f"in {len(init)} tensors; {a.steps} steps of batch {a.batch}; {a.optimizer}, lr {a.lr}{hyper}"
              f"{', torch in float64' if a.float64 else ''}", flush=True)
        fovea = run_fovea(a, init_path, os.path.join(work, "run"))
        init64 = {k: v.astype(np.float64) for k, v in init.items()}
        if a.spread:
            m32, m64 = copy.deepcopy(model), copy.deepcopy(model)
            l32 = run_torch(m32, x, y, a, torch.float32)
            l64 = run_torch(m64, x, y, a, torch.float64)
            return compare(a, fovea, (l64, exported64(m64)), (l32, exported64(m32)), init64)
        torch_losses = run_torch(model, x, y, a, torch.float64 if a.float64 else torch.float32)
        return compare(a, fovea, (torch_losses, exported64(model)), None, init64)
    except (SetupError, ValueError, OSError, KeyError, json.JSONDecodeError) as e:
        print(f"torch_parity: {type(e).__name__ + ': ' if not isinstance(e, SetupError) else ''}{e}",
              file=sys.stderr)
        return 2
    finally:
        if a.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_cases(path, argv):
    """Every line of `path` as its own comparison, with the rest of argv."""
    base = []
    skip = False
    for x in argv:  # argv less --cases FILE
        if skip:
            skip = False
        elif x == "--cases":
            skip = True
        elif not x.startswith("--cases="):
            base.append(x)
    with open(path) as f:
        cases = [line.split("#")[0].split() for line in f]
    failed = []
    for case in (c for c in cases if c):
        print("== " + " ".join(case), flush=True)
        try:
            code = main(base + case)
        except SystemExit as e:  # argparse's error on a bad line
            code = e.code
        if code != 0:
            print(f"FAIL: torch parity for {' '.join(case)} (exit {code})", flush=True)
            failed.append(" ".join(case))
    print(f"torch parity: {sum(1 for c in cases if c) - len(failed)} cases passed, {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
