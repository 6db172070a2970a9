"""The PyTorch side of Fovea's model specs, shared by tools/torch_parity.py,
tools/sharpness_check.py and tools/bench_torch.py: safetensors reading and
writing (F32), the test fixture, and SpecModel, a torch module built from a
model spec JSON with the same parameter names and layouts as Fovea's."""

import json
import os
import struct

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
              "groupnorm", "channel_shuffle", "squeeze_excitation")
# Random in training: Fovea's Philox masks are not PyTorch's, so a model that
# draws any cannot be compared step by step. With p = 0 they are the identity.
RANDOM_LAYERS = ("dropout", "dropout2d", "gaussian_dropout", "alpha_dropout")
RANDOM_OPTIONS = ("drop_connect", "stochastic_depth")


def f32(v):
    """A spec number as Fovea holds it (a float32), as a Python float."""
    return float(np.float32(v))


def pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, list) else (int(v), int(v))


class SqueezeExcitation(nn.Module):
    """torchvision's SqueezeExcitation with ReLU and sigmoid: fc1, fc2 are 1x1
    convolutions, stored as Fovea's "<prefix>.fc1.weight" [S, C, 1, 1], ..."""

    def __init__(self, channels, squeeze):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class SpecModel(nn.Module):
    """The spec's graph. Every value is [N, C, H, W]; a flat vector of F
    features is [N, F, 1, 1], as in Fovea. `export` maps Fovea's tensor names
    to the parameters. An aux_head entry holds a placeholder node (so node i is
    layers[i]); its chain is in `aux` as (from node, weight, nodes), and in
    training forward() leaves its logits in `aux_outputs` as (weight, logits)."""

    def __init__(self, spec, path):
        super().__init__()
        self.mods = nn.ModuleList()
        self.nodes = []  # (type, inputs, module index or fn, out shape)
        self.export = {}
        self.aux, self.aux_outputs, self.aux_prefixes = [], [], []
        c, h, w = (int(v) for v in spec["input"])
        shapes, names, last = [], {}, -1
        for i, L in enumerate(spec["layers"]):
            t = L.get("type")
            name = L.get("name", f"layers.{i}")
            prefix = str(i) if name == f"layers.{i}" else name  # Fovea's tensor names
            if t == "aux_head":
                source = names[L["from"]]
                chain, shape = [], shapes[source]
                for j, A in enumerate(L["layers"]):
                    self._check(A, f"layers[{i}].layers[{j}]", path)
                    fn, shape = self._layer(A, [shape], f"{prefix}.{j}")
                    chain.append((A["type"], [j - 1 if j else -1], fn, shape))
                self.aux.append((source, f32(L["weight"]), chain))
                self.aux_prefixes.append((prefix, L["layers"]))
                shapes.append(None)
                self.nodes.append((t, [], None, None))
                continue
            self._check(L, f"layers[{i}]", path)
            if "inputs" in L:
                unknown = [n for n in L["inputs"] if n != "input" and n not in names]
                if unknown:
                    raise SetupError(f"{path}: layers[{i}]: 'inputs' names {unknown[0]!r}, not an earlier layer")
                inputs = [-1 if n == "input" else names[n] for n in L["inputs"]]
            else:
                inputs = [last]
            names[name], last = i, i
            fn, out = self._layer(L, [(c, h, w) if j < 0 else shapes[j] for j in inputs], prefix)
            shapes.append(out)
            self.nodes.append((t, inputs, fn, out))
        self.last = last

    @staticmethod
    def _check(L, where, path):
        t = L.get("type")
        drawn = [f"'{k}' {L[k]}" for k in RANDOM_OPTIONS if L.get(k, 0) != 0]
        if t in RANDOM_LAYERS and L.get("p", 0.5) != 0:
            drawn.insert(0, f"p {L.get('p', 0.5)}")
        if drawn:
            raise SetupError(f"{path}: {where} ({t}) draws random masks in training ({', '.join(drawn)}); "
                             "Fovea's masks (Philox, keyed by seed, step and layer) are not PyTorch's, so "
                             "parity cannot compare such a model; set them to 0 to compare the rest")
        if t not in STRUCTURAL and t not in ACTIVATIONS and t not in RANDOM_LAYERS:
            raise SetupError(f"{path}: {where} has type {t!r}, which torch_parity.py cannot build in "
                             f"PyTorch (it knows {', '.join(STRUCTURAL + tuple(ACTIVATIONS))}); "
                             "add it to SpecModel")

    def _layer(self, L, in_shapes, prefix):
        """Layer L's module index or function, and its output shape."""
        t = L.get("type")
        ic, ih, iw = in_shapes[0]
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
        elif t == "squeeze_excitation":
            m = SqueezeExcitation(ic, max(1, ic // int(L.get("reduction", 16))))
            self.mods.append(m)
            fn = len(self.mods) - 1
            for fc in ("fc1", "fc2"):
                for attr in ("weight", "bias"):
                    self.export[f"{prefix}.{fc}.{attr}"] = (getattr(m, fc), attr)
        elif t == "channel_shuffle":
            fn = (lambda v, g=int(L["groups"]): channel_shuffle(v, g))
        elif t == "concat":
            out = (sum(s[0] for s in in_shapes), ih, iw)
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
        return fn, out

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

    def _run(self, nodes, x, outs, n):
        for t, inputs, fn, out in nodes:
            if t == "aux_head":
                outs.append(None)
                continue
            xs = [x if j < 0 else outs[j] for j in inputs]
            if t in ("flatten", "reshape"):
                y = xs[0].reshape(n, *out)
            elif t == "dense":
                y = self.mods[fn](xs[0].reshape(n, -1)).reshape(n, *out)
            elif t in ("conv2d", "conv_transpose2d", "batchnorm2d", "instancenorm2d", "groupnorm",
                       "squeeze_excitation"):
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
        return outs

    def forward(self, x):  # x: [N, C, H, W] -> logits [N, K]
        n = x.shape[0]
        outs = self._run(self.nodes, x, [], n)
        self.aux_outputs = []
        if self.training:
            for source, weight, chain in self.aux:
                z = self._run(chain, outs[source], [], n)[-1]
                self.aux_outputs.append((weight, z.reshape(n, -1)))
        return outs[self.last].reshape(n, -1)
