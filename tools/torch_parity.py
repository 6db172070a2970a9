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
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class SetupError(Exception):
    """A problem before any comparison (bad spec, fovea failed): exit 2."""


# ---- safetensors (F32 only) -------------------------------------------------

def write_safetensors(path, tensors, metadata=None):
    """Writes [(name, array-like)] as F32 in the given order, like Fovea's writer:
    header JSON with sorted keys and no spaces, space-padded to a multiple of 8;
    written to a temporary file and renamed over `path`."""
    header, blobs, offset = {}, [], 0
    for name, value in tensors:
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        a = np.array(value, dtype="<f4", order="C")  # (np.ascontiguousarray turns [] into [1])
        if not name or name == "__metadata__" or name in header:
            raise ValueError(f"{path}: bad or repeated tensor name {name!r}")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_safetensors(path):
    """Returns ({name: float32 ndarray} in file order, metadata); validates the
    header as strictly as Fovea's reader (F32 only, ranges tiling the data)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: truncated ({len(raw)} bytes)")
    (n,) = struct.unpack_from("<Q", raw, 0)
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(raw)} bytes)")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    entries = []
    for name, e in header.items():
        if e.get("dtype") != "F32":
            raise ValueError(f"{path}: tensor '{name}': dtype {e.get('dtype')} (only F32 is supported)")
        shape, (begin, end) = [int(d) for d in e["shape"]], e["data_offsets"]
        if not 0 <= begin <= end <= len(data):
            raise ValueError(f"{path}: tensor '{name}': data_offsets [{begin}, {end}] outside the data section")
        if end - begin != 4 * int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{path}: tensor '{name}': shape {shape} does not match data_offsets [{begin}, {end}]")
        entries.append((begin, end, name, shape))
    entries.sort()
    covered = 0
    for begin, end, name, _ in entries:
        if begin != covered:
            raise ValueError(f"{path}: tensor '{name}': ranges overlap or leave a gap at byte {covered}")
        covered = end
    if covered != len(data):
        raise ValueError(f"{path}: the tensors cover {covered} of {len(data)} data bytes")
    tensors = {name: np.frombuffer(data[b:e], dtype="<f4").reshape(shape).astype(np.float32)
               for b, e, name, shape in entries}
    return tensors, metadata


def write_fixture(path):
    """tests/fixtures/torch_writer.safetensors, read by tests/cpu/safetensors_test.cpp."""
    write_safetensors(path, [
        ("0.weight", torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 8 - 1),
        ("0.bias", torch.tensor([1.5, -2.25])),
        ("scale", torch.tensor(3.0)),
    ], {"format": "pt", "writer": "torch_parity.py"})


# ---- the model spec as a PyTorch module --------------------------------------

ACTIVATIONS = {
    "relu": lambda L: F.relu,
    "tanh": lambda L: torch.tanh,
    "sigmoid": lambda L: torch.sigmoid,
    "selu": lambda L: F.selu,
    "gelu": lambda L: (lambda x: F.gelu(x, approximate="none")),
    "leaky_relu": lambda L: (lambda x, s=f32(L.get("negative_slope", 0.01)): F.leaky_relu(x, s)),
    "elu": lambda L: (lambda x, a=f32(L.get("alpha", 1.0)): F.elu(x, a)),
    "softplus": lambda L: (lambda x, b=f32(L.get("beta", 1.0)), t=f32(L.get("threshold", 20.0)):
                           F.softplus(x, b, t)),
}
def spectral(module, L):
    """torch.nn.utils.spectral_norm when the layer asks for it, as Fovea's
    {"spectral_norm": true, "power_iterations": k}."""
    if not L.get("spectral_norm", False):
        return module
    return torch.nn.utils.spectral_norm(module, n_power_iterations=int(L.get("power_iterations", 1)))


class WSConv2d(nn.Conv2d):
    """Conv2d with weight standardization (Qiao et al.): each filter minus its
    mean, divided by sqrt(biased variance + 1e-5), over its fan-in; as Fovea's
    conv2d {"weight_standardization": true}."""

    def forward(self, x):
        w = self.weight
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = w.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
        return self._conv_forward(x, (w - mean) / torch.sqrt(var + 1e-5), self.bias)


STRUCTURAL = ("flatten", "reshape", "dense", "conv2d", "add", "concat", "maxpool2d", "avgpool2d", "global_avgpool2d",
              "conv_transpose2d", "batchnorm2d", "batchnorm1d", "layernorm", "instancenorm2d",
              "groupnorm")
# Random in training: Fovea's Philox masks are not PyTorch's, so a model that
# draws any cannot be compared step by step. With p = 0 they are the identity.
RANDOM_LAYERS = ("dropout", "dropout2d", "gaussian_dropout", "alpha_dropout")
RANDOM_OPTIONS = ("drop_connect", "stochastic_depth")


def f32(v):
    """A spec number as Fovea holds it (a float32), as a Python float."""
    return float(np.float32(v))


def pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, list) else (int(v), int(v))


class SpecModel(nn.Module):
    """The spec's graph. Every value is [N, C, H, W]; a flat vector of F
    features is [N, F, 1, 1], as in Fovea. `export` maps Fovea's tensor names
    to the parameters."""

    def __init__(self, spec, path):
        super().__init__()
        self.mods = nn.ModuleList()
        self.nodes = []  # (type, inputs, module index or fn, out shape)
        self.export = {}
        c, h, w = (int(v) for v in spec["input"])
        shapes, names = [], {}
        for i, L in enumerate(spec["layers"]):
            t = L.get("type")
            drawn = [f"'{k}' {L[k]}" for k in RANDOM_OPTIONS if L.get(k, 0) != 0]
            if t in RANDOM_LAYERS and L.get("p", 0.5) != 0:
                drawn.insert(0, f"p {L.get('p', 0.5)}")
            if drawn:
                raise SetupError(f"{path}: layers[{i}] ({t}) draws random masks in training ({', '.join(drawn)}); "
                                 "Fovea's masks (Philox, keyed by seed, step and layer) are not PyTorch's, so "
                                 "parity cannot compare such a model; set them to 0 to compare the rest")
            if t not in STRUCTURAL and t not in ACTIVATIONS and t not in RANDOM_LAYERS:
                raise SetupError(f"{path}: layers[{i}] has type {t!r}, which torch_parity.py cannot build in "
                                 f"PyTorch (it knows {', '.join(STRUCTURAL + tuple(ACTIVATIONS))}); "
                                 "add it to SpecModel")
            name = L.get("name", f"layers.{i}")
            if "inputs" in L:
                unknown = [n for n in L["inputs"] if n != "input" and n not in names]
                if unknown:
                    raise SetupError(f"{path}: layers[{i}]: 'inputs' names {unknown[0]!r}, not an earlier layer")
                inputs = [-1 if n == "input" else names[n] for n in L["inputs"]]
            else:
                inputs = [i - 1]
            names[name] = i
            shape_of = lambda j: (c, h, w) if j < 0 else shapes[j]
            ic, ih, iw = shape_of(inputs[0])
            prefix = str(i) if name == f"layers.{i}" else name  # Fovea's tensor names
            fn, out = None, (ic, ih, iw)
            if t == "flatten":
                out = (ic * ih * iw, 1, 1)
            elif t == "reshape":
                s = [int(v) for v in L["shape"]] + [1] * (3 - len(L["shape"]))
                out = tuple(s)
            elif t == "dense":
                m = spectral(nn.Linear(ic * ih * iw, int(L["units"]), bias=L.get("bias", True)), L)
                fn, out = self._add(m, prefix), (int(L["units"]), 1, 1)
            elif t == "conv2d":
                k, s, p, d = (pair(L.get(key, dv)) for key, dv in
                              (("kernel", None), ("stride", 1), ("padding", 0), ("dilation", 1)))
                conv = WSConv2d if L.get("weight_standardization", False) else nn.Conv2d
                m = spectral(conv(ic, int(L["out_channels"]), k, stride=s, padding=p, dilation=d,
                                  groups=int(L.get("groups", 1)), bias=L.get("bias", True)), L)
                oh = (ih + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
                ow = (iw + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
                fn, out = self._add(m, prefix), (int(L["out_channels"]), oh, ow)
            elif t == "conv_transpose2d":
                k, s_, p, op, d = (pair(L.get(key, dv)) for key, dv in
                                   (("kernel", None), ("stride", 1), ("padding", 0),
                                    ("output_padding", 0), ("dilation", 1)))
                m = nn.ConvTranspose2d(ic, int(L["out_channels"]), k, stride=s_, padding=p,
                                       output_padding=op, dilation=d, groups=int(L.get("groups", 1)),
                                       bias=L.get("bias", True))
                oh = (ih - 1) * s_[0] - 2 * p[0] + d[0] * (k[0] - 1) + op[0] + 1
                ow = (iw - 1) * s_[1] - 2 * p[1] + d[1] * (k[1] - 1) + op[1] + 1
                fn, out = self._add(m, prefix), (int(L["out_channels"]), oh, ow)
            elif t in ("batchnorm2d", "batchnorm1d"):
                cls = nn.BatchNorm2d if t == "batchnorm2d" else nn.BatchNorm1d
                m = cls(ic, eps=L.get("eps", 1e-5), momentum=L.get("momentum", 0.1),
                        affine=L.get("affine", True))
                fn = self._add(m, prefix)
                for buf in ("running_mean", "running_var", "num_batches_tracked"):
                    self.export[f"{prefix}.{buf}"] = (m, buf)
            elif t == "layernorm":
                shape = [ic] if (ih, iw) == (1, 1) else [ic, ih, iw]
                fn = self._add(nn.LayerNorm(shape, eps=L.get("eps", 1e-5),
                                            elementwise_affine=L.get("elementwise_affine", True)), prefix)
            elif t == "instancenorm2d":
                fn = self._add(nn.InstanceNorm2d(ic, eps=L.get("eps", 1e-5), affine=L.get("affine", False)),
                               prefix)
            elif t == "groupnorm":
                fn = self._add(nn.GroupNorm(int(L["num_groups"]), ic, eps=L.get("eps", 1e-5),
                                            affine=L.get("affine", True)), prefix)
            elif t == "concat":
                out = (sum(shape_of(j)[0] for j in inputs), ih, iw)
            elif t in ("maxpool2d", "avgpool2d"):
                k = pair(L["kernel"])
                s_ = pair(L["stride"]) if "stride" in L else k
                p, d = pair(L.get("padding", 0)), pair(L.get("dilation", 1))
                if t == "maxpool2d":
                    fn = nn.MaxPool2d(k, stride=s_, padding=p, dilation=d)
                else:
                    fn = nn.AvgPool2d(k, stride=s_, padding=p,
                                      count_include_pad=L.get("count_include_pad", True))
                oh = (ih + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s_[0] + 1
                ow = (iw + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s_[1] + 1
                out = (ic, oh, ow)
            elif t == "global_avgpool2d":
                fn, out = (lambda v: v.mean((2, 3), keepdim=True)), (ic, 1, 1)
            elif t in ACTIVATIONS:
                fn = ACTIVATIONS[t](L)
            elif t in RANDOM_LAYERS:  # p = 0: the identity
                fn = nn.Identity()
            shapes.append(out)
            self.nodes.append((t, inputs, fn, out))

    def _add(self, m, prefix):
        self.mods.append(m)
        if hasattr(m, "weight_orig"):  # spectral_norm: the stored weight and u, v
            for attr in ("weight_orig", "weight_u", "weight_v"):
                self.export[f"{prefix}.{attr}"] = (m, attr)
        elif getattr(m, "weight", None) is not None:
            self.export[f"{prefix}.weight"] = (m, "weight")
        if getattr(m, "bias", None) is not None:
            self.export[f"{prefix}.bias"] = (m, "bias")
        return len(self.mods) - 1

    def exported(self):
        """Fovea's tensor names -> the tensors now registered there (looked up at
        call time: .to(dtype) replaces buffers such as running statistics)."""
        return {name: getattr(m, attr) for name, (m, attr) in self.export.items()}

    def forward(self, x):  # x: [N, C, H, W] -> logits [N, K]
        n, outs = x.shape[0], []
        for t, inputs, fn, out in self.nodes:
            xs = [x if j < 0 else outs[j] for j in inputs]
            if t in ("flatten", "reshape"):
                y = xs[0].reshape(n, *out)
            elif t == "dense":
                y = self.mods[fn](xs[0].reshape(n, -1)).reshape(n, *out)
            elif t in ("conv2d", "conv_transpose2d", "batchnorm2d", "instancenorm2d", "groupnorm"):
                y = self.mods[fn](xs[0])
            elif t in ("batchnorm1d", "layernorm") and out[1:] == (1, 1):
                y = self.mods[fn](xs[0].reshape(n, -1)).reshape(n, *out)
            elif t == "layernorm":
                y = self.mods[fn](xs[0])
            elif t == "add":
                y = xs[0]
                for v in xs[1:]:
                    y = y + v
            elif t == "concat":
                y = torch.cat(xs, dim=1)
            else:
                y = fn(xs[0])
            outs.append(y)
        return outs[-1].reshape(n, -1)


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


def standardised_batch(directory, count):
    """The first `count` training images [count, C, H, W] standardised as Fovea
    does, and their labels. Statistics: exact integer sums over the whole
    file (a byte histogram), then mean and population variance in float64."""
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
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(labels[:count].astype(np.int64))


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


WEIGHTED = ("dense", "conv2d", "conv_transpose2d")


def penalty_terms(spec, model, a):
    """[(tensor name, l1, l2)] as Fovea selects them: the weights of dense,
    conv2d and conv_transpose2d layers (the layer's "l1"/"l2", else --l1/--l2);
    biases and normalisation parameters only with --penalize-biases."""
    terms = []
    for i, L in enumerate(spec["layers"]):
        name = L.get("name", f"layers.{i}")
        prefix = str(i) if name == f"layers.{i}" else name
        weighted = L.get("type") in WEIGHTED
        l1, l2 = L.get("l1", a.l1), L.get("l2", a.l2)
        for tname, (m, attr) in model.export.items():
            if not tname.startswith(prefix + ".") or tname[len(prefix) + 1:] != attr:
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
    if a.class_weights:
        cmd += ["--class-weights", a.class_weights]
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
    opt = make_optimizer(a, model.parameters())
    losses = []
    for _ in range(a.steps):
        opt.zero_grad()
        loss = a.loss_fn(model(x), y)  # mean over the batch: the data loss compared
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


def main():
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
    p.add_argument("--class-weights", help="fovea --class-weights: balanced or W0,W1,... (CrossEntropyLoss weight)")
    p.add_argument("--seed", type=int, default=0, help="torch.manual_seed for the initial weights")
    p.add_argument("--tol", type=float, default=1e-4, help="largest relative difference accepted")
    p.add_argument("--float64", action="store_true",
                   help="with --spread 0: run the PyTorch side in float64 (a reference free of its own rounding)")
    p.add_argument("--spread", type=float, default=4.0, metavar="F",
                   help="judge against float64 PyTorch: pass within max(--tol, F x float32 PyTorch's own error) "
                        "(default 4); 0: within --tol of one PyTorch run")
    p.add_argument("--keep", action="store_true", help="keep the work directory and print its path")
    p.add_argument("--write-fixture", metavar="PATH", help="write the safetensors test fixture and exit")
    a = p.parse_args()
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
        a.terms = penalty_terms(spec, model, a)
        x, y = standardised_batch(a.data, a.batch)
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


if __name__ == "__main__":
    sys.exit(main())
