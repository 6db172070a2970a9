#!/usr/bin/env python3
"""Checks a model exported by `fovea export` against `fovea eval --logits`.

Usage: onnx_check.py MODEL.onnx LOGITS.npy DATA_DIR RUNTIME [COUNT]

The file must pass onnx.checker (with shape inference), have the input
"input" [batch, C, H, W] and the output "logits" [batch, classes] with a
symbolic batch, and carry the standardisation in its metadata. The first
COUNT (default 1000) test images, standardised with that mean and std, run
through RUNTIME: "opencv" (cv2.dnn, as batches of 1 and COUNT - 1 images, so
the symbolic batch is exercised) or "torch" (a small interpreter of the
graph's ONNX ops with torch.nn.functional in float64, for ops OpenCV 4.6
does not run or runs wrongly). Their logits must equal fovea's to 1e-4
relative to the largest |logit|, with the same argmax everywhere.
Prints the measured difference; exits 1 on any failure.
"""
import gzip
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def test_images(data_dir, count):
    for name in ("t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            raw = (gzip.open if name.endswith(".gz") else open)(path, "rb").read()
            n, h, w = (int.from_bytes(raw[4 * i:4 * i + 4], "big") for i in (1, 2, 3))
            pixels = np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, h, w)
            return pixels[:count]
    fail("no test images in " + data_dir)


def run_opencv(path, x):
    import cv2
    outs = []
    for part in (x[:1], x[1:]):
        # A fresh net per batch size: OpenCV 4.6 reusing one net across input
        # shapes gets InstanceNormalization wrong (up to 1e-3 here).
        net = cv2.dnn.readNetFromONNX(path)
        net.setInput(part)
        outs.append(net.forward().reshape(len(part), -1))
    return np.concatenate(outs).astype(np.float64), "OpenCV " + cv2.__version__


def attrs_of(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def run_torch(model, x):
    """Evaluates the graph op by op with torch.nn.functional in float64."""
    import torch
    import torch.nn.functional as F
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    env = {k: v.double() if v.is_floating_point() else v for k, v in env.items()}
    env["input"] = torch.from_numpy(x).double()
    for node in model.graph.node:
        a = attrs_of(node)
        ins = [env[i] for i in node.input]
        op = node.op_type

        def pads2():
            p = a.get("pads", [0, 0, 0, 0])
            if p[0] != p[2] or p[1] != p[3]:
                fail(node.name + ": asymmetric pads")
            return (p[0], p[1])
        if op == "Conv":
            y = F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, tuple(a.get("strides", [1, 1])),
                         pads2(), tuple(a.get("dilations", [1, 1])), a.get("group", 1))
        elif op == "ConvTranspose":
            y = F.conv_transpose2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, tuple(a.get("strides", [1, 1])),
                                   pads2(), tuple(a.get("output_padding", [0, 0])), a.get("group", 1),
                                   tuple(a.get("dilations", [1, 1])))
        elif op == "MaxPool":
            y = F.max_pool2d(ins[0], tuple(a["kernel_shape"]), tuple(a.get("strides", [1, 1])), pads2(),
                             tuple(a.get("dilations", [1, 1])))
        elif op == "AveragePool":
            y = F.avg_pool2d(ins[0], tuple(a["kernel_shape"]), tuple(a.get("strides", [1, 1])), pads2(),
                             count_include_pad=bool(a.get("count_include_pad", 0)))
        elif op == "Pad":
            p = [int(v) for v in ins[1]]
            if a.get("mode", b"constant") != b"constant" or len(ins) > 2 or p[0] or p[1] or p[4] or p[5]:
                fail(node.name + ": only zero padding of H and W")
            y = F.pad(ins[0], (p[3], p[7], p[2], p[6]))
        elif op == "GlobalAveragePool":
            y = ins[0].mean(dim=(2, 3), keepdim=True)
        elif op == "Gemm":
            y = ins[0] @ (ins[1].t() if a.get("transB", 0) else ins[1])
            if len(ins) > 2:
                y = y + ins[2]
        elif op == "Flatten":
            y = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "Reshape":
            y = ins[0].reshape(*[int(v) for v in ins[1]])
        elif op == "Transpose":
            y = ins[0].permute(*[int(v) for v in a["perm"]])
        elif op == "BatchNormalization":
            y = F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], False, 0.0, a["epsilon"])
        elif op == "InstanceNormalization":
            y = F.instance_norm(ins[0], weight=ins[1], bias=ins[2], eps=a["epsilon"])
        elif op in ("Add", "Mul", "Div", "Greater"):
            y = {"Add": torch.add, "Mul": torch.mul, "Div": torch.div, "Greater": torch.gt}[op](ins[0], ins[1])
        elif op == "Concat":
            y = torch.cat(ins, dim=a["axis"])
        elif op == "Where":
            y = torch.where(ins[0], ins[1], ins[2])
        elif op == "Relu":
            y = F.relu(ins[0])
        elif op == "LeakyRelu":
            y = F.leaky_relu(ins[0], a["alpha"])
        elif op == "Elu":
            y = F.elu(ins[0], a["alpha"])
        elif op == "Selu":
            y = a["gamma"] * torch.where(ins[0] > 0, ins[0], a["alpha"] * torch.expm1(ins[0]))
        elif op == "Erf":
            y = torch.erf(ins[0])
        elif op == "Tanh":
            y = torch.tanh(ins[0])
        elif op == "Sigmoid":
            y = torch.sigmoid(ins[0])
        elif op == "Softplus":
            y = torch.log1p(torch.exp(ins[0]))
        elif op == "Softmax":
            y = torch.softmax(ins[0], dim=a.get("axis", -1))
        elif op == "Sum":
            y = sum(ins[1:], ins[0])
        else:
            fail("the torch runtime has no " + op)
        env[node.output[0]] = y
    import torch as _t
    return env[model.graph.output[0].name].numpy(), "torch " + _t.__version__ + " (float64 interpreter)"


def io_of(model):
    """The graph's one input and one output with their dimensions (a size, or a symbolic name)."""
    (inp,), (out,) = model.graph.input, model.graph.output
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in (inp, out)]
    return inp, dims[0], out, dims[1]


def main():
    path, logits_path, data_dir, runtime = sys.argv[1:5]
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    if model.ir_version != 7 or [(o.domain, o.version) for o in model.opset_import] != [("", 13)]:
        fail("expected IR 7 and opset 13, got %d %s" % (model.ir_version, model.opset_import))
    inp, in_dims, out, out_dims = io_of(model)
    if inp.name != "input" or out.name != "logits" or in_dims[0] != "batch" or out_dims[0] != "batch":
        fail("input/output %s %s, %s %s" % (inp.name, in_dims, out.name, out_dims))
    meta = {p.key: p.value for p in model.metadata_props}
    mean, std = np.array(json.loads(meta["mean"])), np.array(json.loads(meta["std"]))
    loss = json.loads(meta.get("loss", "null"))
    if not isinstance(loss, dict) or loss.get("type") not in ("cross_entropy", "mse", "bce_with_logits"):
        fail("metadata_props 'loss' is %r" % meta.get("loss"))

    pixels = test_images(data_dir, count)
    x = ((pixels / 255.0 - mean.reshape(1, -1, 1, 1)) / std.reshape(1, -1, 1, 1)).astype(np.float32)
    if runtime == "opencv":
        got, name = run_opencv(path, x)
    else:
        got, name = run_torch(model, x)
    want = np.load(logits_path)
    if want.dtype != np.float32 or want.ndim != 2 or want.shape[1] != out_dims[1]:
        fail("fovea's logits: dtype %s shape %s" % (want.dtype, want.shape))
    want = want[:count].astype(np.float64)
    if got.shape != want.shape:
        fail("%s gave shape %s, fovea %s" % (name, got.shape, want.shape))
    if not np.all(np.isfinite(got)) or np.abs(want).max() == 0:
        fail("non-finite or all-zero logits")
    rel = np.abs(got - want).max() / np.abs(want).max()
    same = int((got.argmax(1) == want.argmax(1)).sum())
    print("%s: %s on %d images: max |onnx - fovea| / max |logit| = %.3g (max |logit| %.3g), argmax equal on %d/%d"
          % (os.path.basename(path), name, count, rel, np.abs(want).max(), same, count))
    if rel > 1e-4 or same != count:
        fail("the ONNX model's logits differ from fovea's")


if __name__ == "__main__":
    main()
