#!/usr/bin/env bash
# `fovea bench`: bad options end with one clear line; a short run on the MLP
# and on fashion_cnn reports images/s, kernels sorted by time, memory figures
# that add up, and GEMM FLOPs equal to 2 * batch * in * out (dense, forward
# and both gradients) and 2 * batch * OC * C * KH * KW * OH * OW (conv2d),
# computed here from the model spec; the roofline fraction follows from the
# given peaks; measured peaks are positive under the validation layer.
# --memory lists every buffer of the device arena with its life.
# Usage: bench_test.sh FOVEA_BINARY SOURCE_DIR
source "$(dirname "$0")/common.sh" "$@"
mlp=$src/assets/models/mlp.json
cnn=$src/assets/models/fashion_cnn.json
expect 1 "--steps must be at least 1" -- bench --model "$mlp" --steps 0
expect 1 "--batch must be at least 1" -- bench --model "$mlp" --batch 0
expect 1 "--peak-gflops and --peak-gbps go together" -- bench --model "$mlp" --peak-gflops 5
expect 1 "--peak-gflops and --peak-gbps go together" -- bench --model "$mlp" --peak-gflops -1 --peak-gbps 2
expect 1 "$tmp/none.json" -- bench --model "$tmp/none.json"
expect 2 "--batch" -- bench --model "$mlp" --batch many

run() {  # run NAME ARGS...: fovea bench ARGS --json $tmp/NAME.json, stdout in $tmp/NAME.txt
  local name=$1
  shift
  "$fovea" bench "$@" --json "$tmp/$name.json" >"$tmp/$name.txt" 2>"$tmp/$name.err" || fail "bench $*: $(cat "$tmp/$name.err")"
}
run mlp --model "$mlp" --batch 17 --steps 2 --warmup 1 --roofline --peak-gflops 10 --peak-gbps 5
run cnn --model "$cnn" --batch 5 --steps 1 --warmup 1 --roofline --peak-gflops 20 --peak-gbps 8 --memory
run measured --model "$mlp" --batch 9 --steps 1 --warmup 0 --roofline --validate

"$py" - "$tmp" "$mlp" "$cnn" <<'PY' || fail "bench figures: see above"
import json, sys
tmp, mlp_path, cnn_path = sys.argv[1:4]
ok = True
def bad(*m):
    global ok
    print(*m); ok = False

def gemm_flops(spec, batch):
    """label -> FLOPs of every GEMM of the step, from the layer shapes."""
    c, h, w = spec["input"]
    want = {}
    first_trainable = True
    for i, l in enumerate(spec["layers"]):
        base = f"layers.{i}.{l['type']}"
        if l["type"] == "conv2d":
            k, pad = l["kernel"], l.get("padding", 0)
            oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
            f = 2 * batch * l["out_channels"] * c * k * k * oh * ow
            want[base + ".forward"] = f
            want[base + ".backward.weight"] = f
            if not first_trainable: want[base + ".backward.input"] = f
            c, h, w = l["out_channels"], oh, ow
            first_trainable = False
        elif l["type"] == "maxpool2d":
            s = l.get("stride", l["kernel"])
            h, w = (h - l["kernel"]) // s + 1, (w - l["kernel"]) // s + 1
        elif l["type"] == "flatten":
            c, h, w = c * h * w, 1, 1
        elif l["type"] == "dense":
            f = 2 * batch * c * l["units"]
            want[base + ".forward"] = f
            want[base + ".backward.weight"] = f
            if not first_trainable: want[base + ".backward.input"] = f
            c = l["units"]
            first_trainable = False
    return want

for name, path, peaks in (("mlp", mlp_path, (10, 5)), ("cnn", cnn_path, (20, 8))):
    r = json.load(open(f"{tmp}/{name}.json"))
    spec = json.load(open(path))
    ks = {k["label"]: k for k in r["kernels"]}
    want = gemm_flops(spec, r["batch"])
    if len(want) < 4: bad(name, "too few GEMMs expected:", want)
    for label, f in want.items():
        k = ks.get(label)
        if k is None: bad(name, "no kernel", label, "in", sorted(ks)); continue
        if not k["exact"] or k["flops"] != f: bad(name, label, "flops", k["flops"], "exact", k["exact"], "want", f)
        if not k["bytes"] > 0: bad(name, label, "moves no bytes")
    ms = [k["ms"] for k in r["kernels"]]
    if ms != sorted(ms, reverse=True): bad(name, "kernels not sorted by time")
    if not any(m > 0 for m in ms): bad(name, "no kernel took time")
    if not r["images_per_second"] > 0: bad(name, "images/s", r["images_per_second"])
    if r["peaks"] != {"gflops": peaks[0], "gbps": peaks[1], "measured": False}: bad(name, "peaks", r["peaks"])
    for k in r["kernels"]:
        if k["ms"] > 0:
            frac = max(k["flops"] / (peaks[0] * 1e6), k["bytes"] / (peaks[1] * 1e6)) / k["ms"]
            if abs(frac - k["roof_fraction"]) > 1e-9 * max(1, frac): bad(name, k["label"], "roof fraction", k["roof_fraction"], "want", frac)
    m = r["memory"]
    if m["needed"] != m["parameters"] + m["gradients"] + m["optimizer_state"] + m["saved_activations"]: bad(name, "needed", m)
    if m["total"] != m["device_arena"] + m["scratch"] or abs(m["ratio"] - m["total"] / m["needed"]) > 1e-9: bad(name, "total", m)
    if not (0 < m["saved_activations"] < m["device_arena"]): bad(name, "saved activations", m)
    # sgd with momentum keeps one buffer as long as the parameters (rounded up to 4 floats)
    if not (m["parameters"] <= m["optimizer_state"] < m["parameters"] + 16): bad(name, "optimizer state", m)
    txt = open(f"{tmp}/{name}.txt").read()
    for want_text in ("images/s", "device memory of a training step", "FLOP/B", "of roof", "peaks: ", "  total "):
        if want_text not in txt: bad(name, "text lacks", repr(want_text))

# --memory: the arena's buffers, shared and pinned ones, and the lower bound.
txt = open(f"{tmp}/cnn.txt").read()
for want_text in ("arena device:", "layers.3.conv2d.cols", "  parameters  pinned", "layers.1.relu.backward", "most bytes live at once: "):
    if want_text not in txt: bad("cnn --memory lacks", repr(want_text))
if "most bytes live at once" in open(f"{tmp}/mlp.txt").read(): bad("mlp lists its memory without --memory")

# The MLP's parameters: 784*256 + 256 + 256*10 + 10 floats, padded to at most 256 bytes.
m = json.load(open(f"{tmp}/mlp.json"))["memory"]
floats = 784 * 256 + 256 + 256 * 10 + 10
if not (4 * floats <= m["parameters"] < 4 * floats + 256): bad("mlp parameters", m["parameters"], "want", 4 * floats)
r = json.load(open(f"{tmp}/measured.json"))
if not (r["peaks"]["measured"] and r["peaks"]["gflops"] > 0 and r["peaks"]["gbps"] > 0): bad("measured peaks", r["peaks"])
sys.exit(0 if ok else 1)
PY
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
