#!/usr/bin/python3
"""PyTorch peer of tools/bench: trains a Fovea model spec (assets/models/mlp.json by default)
on Fashion-MNIST with the same protocol as `fovea train` and reports images/s.

Run with Debian's interpreter: /usr/bin/python3 tools/bench_torch.py [options]
"""
import argparse
import gzip
import importlib.util
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn


def read_idx(directory, name):
    """Reads an IDX file (NAME.gz or raw NAME) into a numpy uint8 array."""
    path = os.path.join(directory, name)
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            raw = f.read()
    elif os.path.exists(path):
        with open(path, "rb") as f:
            raw = f.read()
    else:
        sys.exit(f"bench_torch: missing {path}(.gz)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(directory, limit, seed):
    train_x = read_idx(directory, "train-images-idx3-ubyte").astype(np.float64) / 255.0
    train_y = read_idx(directory, "train-labels-idx1-ubyte").astype(np.int64)
    test_x = read_idx(directory, "t10k-images-idx3-ubyte").astype(np.float64) / 255.0
    test_y = read_idx(directory, "t10k-labels-idx1-ubyte").astype(np.int64)
    # Grayscale: one channel; statistics over the whole training file (float64).
    mean, std = train_x.mean(), train_x.std()
    norm = lambda x: torch.from_numpy(((x - mean) / std).astype(np.float32)).unsqueeze(1)
    train_x, test_x = norm(train_x), norm(test_x)
    train_y, test_y = torch.from_numpy(train_y), torch.from_numpy(test_y)
    if limit > 0:
        train_x, train_y = train_x[:limit], train_y[:limit]
    n = len(train_x)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    hold, keep = perm[:n // 12], perm[n // 12:]
    return ((train_x[keep], train_y[keep]), (train_x[hold], train_y[hold]),
            (test_x, test_y), (float(mean), float(std)))


def evaluate(model, data, device, batch):
    x, y = data
    if len(x) == 0:
        return float("nan"), float("nan")
    loss_sum, correct = 0.0, 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb, yb = x[i:i + batch].to(device), y[i:i + batch].to(device)
            out = model(xb)
            loss_sum += nn.functional.cross_entropy(out, yb, reduction="sum").item()
            correct += (out.argmax(1) == yb).sum().item()
    return loss_sum / len(x), correct / len(x)


def blas_library():
    """The BLAS shared object torch's matrix products run on, read from this
    process's memory map after one product (Debian's torch uses the system
    libblas.so.3, whose alternative may be OpenBLAS or the slow reference)."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = os.path.basename(path)
            if any(k in name for k in ("blas", "mkl", "lapack", "blis")):
                libs.add(os.path.realpath(path))
    return ", ".join(sorted(libs)) or "none found in /proc/self/maps"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--model", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "assets", "models", "mlp.json"),
                   help="Fovea model spec; built in PyTorch by tools/torch_parity.py's SpecModel")
    p.add_argument("--epochs", type=int, default=1, help="epochs (with --target-acc: the most epochs)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=0, help="first N training images (0 = all)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads (torch.set_num_threads); 0 = train at every count from 1 to "
                        "the number of cores and report the fastest")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--cuda-graphs", action="store_true",
                   help="CUDA only: capture the whole training step (forward, backward, optimizer) "
                        "in a CUDA graph and replay it on static input tensors")
    p.add_argument("--target-acc", type=float, default=0,
                   help="train until validation accuracy reaches this (at most --epochs epochs); "
                        "the result's wall_seconds counts training and validation")
    p.add_argument("--warmup", type=int, default=5, help="untimed warm-up steps on a throwaway copy")
    p.add_argument("--json", help="write the result to this file as one JSON object")
    a = p.parse_args()
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("bench_torch: --device cuda requested but CUDA is not available")
    if a.cuda_graphs and not a.device.startswith("cuda"):
        sys.exit("bench_torch: --cuda-graphs needs --device cuda")
    if a.threads < 0:
        sys.exit(f"bench_torch: --threads must be at least 0, got {a.threads}")
    return a


class Step:
    """One training step on a batch: eager, or replayed from a CUDA graph
    captured on static tensors (PyTorch's documented whole-network capture:
    warm up on a side stream, capture forward, backward and optimizer step,
    then copy each batch into the static inputs and replay). A batch of
    another size (the last, partial one) runs eagerly."""

    def __init__(self, model, opt, loss_fn, batch, shape, device, graphs):
        self.model, self.opt, self.loss_fn = model, opt, loss_fn
        self.graph = None
        if not graphs:
            return
        self.x = torch.zeros((batch,) + tuple(shape), device=device)
        self.y = torch.zeros(batch, dtype=torch.int64, device=device)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            saved = {k: v.clone() for k, v in model.state_dict().items()}
            for _ in range(3):  # warm-up iterations the capture needs; undone below
                self._eager(self.x, self.y)
            # Undo them in place (the graph records addresses): the weights
            # back to the seeded ones, momentum buffers to zero, so the first
            # replay takes SGD's first step (buffer = gradient).
            with torch.no_grad():
                for k, v in model.state_dict().items():
                    v.copy_(saved[k])
                for state in self.opt.state.values():
                    for t in state.values():
                        if torch.is_tensor(t):
                            t.zero_()
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        self.opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(self.graph):
            self.out, self.loss = self._eager(self.x, self.y, zero=False)

    def _eager(self, xb, yb, zero=True):
        if zero:
            self.opt.zero_grad(set_to_none=True)
        out = self.model(xb)
        loss = self.loss_fn(out, yb)
        loss.backward()
        self.opt.step()
        return out, loss

    def __call__(self, xb, yb):
        if self.graph is None or len(xb) != len(self.x):
            out, loss = self._eager(xb, yb)
            return out.detach(), loss.detach()
        self.x.copy_(xb)
        self.y.copy_(yb)
        self.graph.replay()
        return self.out, self.loss


def run(a, data, model_spec, torch_parity, threads):
    """Trains from the seeded initialisation; returns the result dict."""
    if threads > 0:
        torch.set_num_threads(threads)
    device = torch.device(a.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(a.seed)
    (x_train, y_train), val, test = data
    n = len(x_train)
    make_model = lambda: torch_parity.SpecModel(model_spec, a.model)
    make_opt = lambda m: torch.optim.SGD(m.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=0)
    loss_fn = nn.CrossEntropyLoss()

    # Warm-up on a throwaway model so the measured run starts from the seeded init.
    if a.warmup > 0:
        rng_state = torch.get_rng_state()
        wm = make_model().to(device)
        wo = make_opt(wm)
        for i in range(a.warmup):
            xb = x_train[(i * a.batch) % n:][:a.batch].to(device)
            yb = y_train[(i * a.batch) % n:][:a.batch].to(device)
            wo.zero_grad()
            loss_fn(wm(xb), yb).backward()
            wo.step()
        sync()
        torch.set_rng_state(rng_state)

    model = make_model().to(device)
    opt = make_opt(model)
    step = Step(model, opt, loss_fn, a.batch, x_train.shape[1:], device, a.cuda_graphs)
    shuffle = torch.Generator().manual_seed(a.seed + 1)
    history = []
    wall_start = time.perf_counter()
    for epoch in range(1, a.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=shuffle)
        loss_sum, correct = 0.0, 0
        sync()
        start = time.perf_counter()
        for i in range(0, n, a.batch):  # last partial batch is trained
            idx = order[i:i + a.batch]
            xb, yb = x_train[idx].to(device), y_train[idx].to(device)
            out, loss = step(xb, yb)
            loss_sum += loss * len(idx)
            correct += (out.argmax(1) == yb).sum()
        loss_sum, correct = float(loss_sum), int(correct)  # syncs the device
        sync()
        seconds = time.perf_counter() - start
        val_loss, val_acc = evaluate(model, val, device, a.batch)
        row = dict(epoch=epoch, train_loss=loss_sum / n, train_acc=correct / n,
                   val_loss=val_loss, val_acc=val_acc, lr=a.lr, seconds=seconds,
                   images_per_second=n / seconds, wall_seconds=time.perf_counter() - wall_start)
        history.append(row)
        print(f"  threads {torch.get_num_threads()} epoch {epoch}: train_loss {row['train_loss']:.4f} "
              f"train_acc {row['train_acc']:.4f} val_loss {val_loss:.4f} val_acc {val_acc:.4f} "
              f"{seconds:.2f}s {row['images_per_second']:.0f} img/s", flush=True)
        if a.target_acc > 0 and val_acc >= a.target_acc:
            break
    test_loss, test_acc = evaluate(model, test, device, a.batch)
    last = history[-1]
    return dict(
        threads=torch.get_num_threads(), train_images=n, val_images=len(val[0]),
        test_images=len(test[0]), train_loss=last["train_loss"], train_acc=last["train_acc"],
        val_loss=last["val_loss"], val_acc=last["val_acc"], test_loss=test_loss, test_acc=test_acc,
        seconds=sum(r["seconds"] for r in history),
        images_per_second=n * len(history) / sum(r["seconds"] for r in history),
        wall_seconds=last["wall_seconds"], epochs_run=len(history),
        reached_target=bool(a.target_acc > 0 and last["val_acc"] >= a.target_acc),
        history=history)


def main():
    a = parse_args()
    train, val, test, (mean, std) = load(a.data, a.limit, a.seed)
    spec_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_parity.py")
    loader = importlib.util.spec_from_file_location("torch_parity", spec_path)
    torch_parity = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(torch_parity)
    with open(a.model) as f:
        model_spec = json.load(f)
    blas = blas_library()
    cores = os.cpu_count() or 1
    counts = [a.threads] if a.threads > 0 or a.device != "cpu" else list(range(1, cores + 1))
    print(f"torch {torch.__version__}, device {a.device}{' (CUDA graphs)' if a.cuda_graphs else ''}, "
          f"BLAS {blas}; train {len(train[0])}, val {len(val[0])}, test {len(test[0])}; "
          f"mean {mean:.6f} std {std:.6f}; thread counts {counts if a.device == 'cpu' else '-'}",
          flush=True)
    runs = [run(a, (train, val, test), model_spec, torch_parity, t) for t in counts]
    best = max(runs, key=lambda r: r["images_per_second"])
    result = dict(
        framework="pytorch", torch_version=torch.__version__, blas=blas, device=a.device,
        cuda_graphs=a.cuda_graphs, epochs=a.epochs, batch=a.batch, lr=a.lr, momentum=a.momentum,
        seed=a.seed, limit=a.limit, warmup_steps=a.warmup, target_acc=a.target_acc,
        threads_forced=a.threads > 0,
        per_thread_count=[dict(threads=r["threads"], images_per_second=r["images_per_second"])
                          for r in runs],
        **best)
    if len(runs) > 1:
        print("images/s by thread count: " + ", ".join(
            f"{r['threads']}: {r['images_per_second']:.0f}" for r in runs) +
            f"; used the fastest, {best['threads']} thread(s)")
    print(f"result: {result['images_per_second']:.0f} img/s (training phase only, after "
          f"{a.warmup} untimed warm-up steps), val_acc {best['val_acc']:.4f}, "
          f"test_loss {best['test_loss']:.4f} test_acc {best['test_acc']:.4f}, torch {torch.__version__}, "
          f"{best['threads']} threads, wall {best['wall_seconds']:.1f}s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f)
            f.write("\n")


if __name__ == "__main__":
    main()
