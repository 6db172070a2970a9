#!/usr/bin/python3
"""PyTorch side of tools/bench_ops: the same ops on the same shapes (the layers
of assets/models/fashion_cnn.json at batch 128), timed with perf_counter over
N repeats after two warm-up runs, median reported. One JSON object per line.

  /usr/bin/python3 tools/bench_ops_torch.py [--repeat N] [--device cpu|cuda] [--threads N]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def timed(fn, repeat, sync):
    for _ in range(2):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    g = torch.Generator().manual_seed(0)

    def rnd(*shape):
        return (torch.rand(*shape, generator=g) - 0.5).to(dev)

    results = []
    for name, c, hw, o in (("conv1", 1, 28, 32), ("conv2", 32, 14, 64)):
        x, w, b = rnd(128, c, hw, hw), rnd(o, c, 3, 3), rnd(o)
        dy = rnd(128, o, hw, hw)
        flops = 2.0 * 128 * o * hw * hw * c * 9
        results.append((name + ".forward", flops, lambda x=x, w=w, b=b: F.conv2d(x, w, b, padding=1)))
        results.append((name + ".backward_input", flops,
                        lambda x=x, w=w, dy=dy: torch.nn.grad.conv2d_input(x.shape, w, dy, padding=1)))
        results.append((name + ".backward_weight", flops,
                        lambda x=x, w=w, dy=dy: (torch.nn.grad.conv2d_weight(x, w.shape, dy, padding=1),
                                                 dy.sum((0, 2, 3)))))
    x, w, b, dy = rnd(128, 3136), rnd(128, 3136), rnd(128), rnd(128, 128)
    flops = 2.0 * 128 * 3136 * 128
    results.append(("dense.forward", flops, lambda: F.linear(x, w, b)))
    results.append(("dense.backward_weight", flops, lambda: (dy.t() @ x, dy.sum(0))))
    # OpenBLAS SGEMM (torch.mm on float32) at 1024^3, the peer of Fovea's
    # GEMM kernels: nt = A @ B^T (dense forward), nn = A @ B.
    ga, gb = rnd(1024, 1024), rnd(1024, 1024)
    results.append(("gemm.nt.1024", 2.0 * 1024 ** 3, lambda: ga @ gb.t()))
    results.append(("gemm.nn.1024", 2.0 * 1024 ** 3, lambda: ga @ gb))
    # The optimizer step over fashion_cnn's parameter tensors (421,642 values),
    # torch.optim with its default implementation (foreach=None); "gflops" is
    # then billions of parameters updated per second, as in fovea_bench_ops.
    shapes = ((32, 1, 3, 3), (32,), (64, 32, 3, 3), (64,), (128, 3136), (128,), (10, 128), (10,))
    for name, make in (("optim.sgd", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9)),
                       ("optim.adam", lambda ps: torch.optim.Adam(ps, lr=1e-3))):
        ps = [torch.nn.Parameter(rnd(*s)) for s in shapes]
        for q in ps:
            q.grad = rnd(*q.shape)
        opt = make(ps)
        results.append((name, float(sum(q.numel() for q in ps)), opt.step))
    for name, flops, fn in results:
        with torch.no_grad():
            ms = timed(fn, a.repeat, sync)
        print(json.dumps({"op": name, "ms": round(ms, 4), "gflops": round(flops / (ms * 1e6), 3),
                          "torch": torch.__version__, "threads": torch.get_num_threads(),
                          "device": a.device}), flush=True)


if __name__ == "__main__":
    main()
