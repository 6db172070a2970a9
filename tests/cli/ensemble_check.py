#!/usr/bin/env python3
"""Checks an ensemble exported by `fovea export --runs` against `fovea ensemble --logits`.

Usage: ensemble_check.py MODEL.onnx LOG_PROBABILITIES.npy DATA_DIR RUNTIME [COUNT]

The file must pass onnx.checker (with shape inference), have the input
"input" [batch, C, H, W] and the output "probabilities" [batch, classes]
with a symbolic batch, list its members in the metadata and carry the
standardisation. The first COUNT (default 1000) test images, standardised
with that mean and std, run through RUNTIME ("opencv" or "torch", as in
onnx_check.py). Their probabilities must sum to 1 per image and equal the
exponential of fovea's log probabilities to 1e-5, with the same argmax.
Prints the measured difference; exits 1 on any failure.
"""
import json
import os
import sys

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_check import fail, io_of, run_opencv, run_torch, test_images  # noqa: E402


def main():
    path, npy, data_dir, runtime = sys.argv[1:5]
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inp, in_dims, out, out_dims = io_of(model)
    if inp.name != "input" or out.name != "probabilities" or in_dims[0] != "batch" or out_dims[0] != "batch":
        fail("input/output %s %s, %s %s" % (inp.name, in_dims, out.name, out_dims))
    meta = {p.key: p.value for p in model.metadata_props}
    members = json.loads(meta["members"])
    if abs(sum(m["weight"] for m in members) - 1) > 1e-12:
        fail("member weights %s do not sum to 1" % [m["weight"] for m in members])
    mean, std = np.array(json.loads(meta["mean"])), np.array(json.loads(meta["std"]))
    pixels = test_images(data_dir, count)
    x = ((pixels / 255.0 - mean.reshape(1, -1, 1, 1)) / std.reshape(1, -1, 1, 1)).astype(np.float32)
    got, name = run_opencv(path, x) if runtime == "opencv" else run_torch(model, x)
    want = np.exp(np.load(npy)[:count].astype(np.float64))
    if got.shape != want.shape:
        fail("%s gave shape %s, fovea %s" % (name, got.shape, want.shape))
    diff = np.abs(got - want).max()
    sums = np.abs(got.sum(1) - 1).max()
    same = int((got.argmax(1) == want.argmax(1)).sum())
    print("%s: %s on %d images, %d members: max |onnx - fovea| = %.3g, max |sum - 1| = %.3g, argmax equal on %d/%d"
          % (os.path.basename(path), name, count, len(members), diff, sums, same, count))
    if diff > 1e-5 or sums > 1e-5 or same != count:
        fail("the ONNX ensemble's probabilities differ from fovea's")


if __name__ == "__main__":
    main()
