#!/usr/bin/python3
"""PyTorch reference for tools/bench: trains Fovea's MLP (assets/models/mlp.json)
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


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--model", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "assets", "models", "mlp.json"),
                   help="Fovea model spec; built in PyTorch by tools/torch_parity.py's SpecModel")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=0, help="first N training images (0 = all)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--warmup", type=int, default=5, help="untimed warm-up steps on a throwaway copy")
    p.add_argument("--json", help="write the result to this file as one JSON object")
    a = p.parse_args()

    if a.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("bench_torch: --device cuda requested but CUDA is not available")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(a.seed)

    train, val, test, (mean, std) = load(a.data, a.limit, a.seed)
    x_train, y_train = train
    n = len(x_train)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {a.device}; "
          f"train {n}, val {len(val[0])}, test {len(test[0])}; mean {mean:.6f} std {std:.6f}")

    # The same layers as Fovea's spec, PyTorch's default initialisation.
    spec_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_parity.py")
    loader = importlib.util.spec_from_file_location("torch_parity", spec_path)
    torch_parity = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(torch_parity)
    with open(a.model) as f:
        model_spec = json.load(f)

    def make_model():
        return torch_parity.SpecModel(model_spec, a.model)

    def make_opt(m):
        return torch.optim.SGD(m.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=0)

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
    shuffle = torch.Generator().manual_seed(a.seed + 1)
    history = []
    for epoch in range(1, a.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=shuffle)
        loss_sum, correct = 0.0, 0
        sync()
        start = time.perf_counter()
        for i in range(0, n, a.batch):  # last partial batch is trained
            idx = order[i:i + a.batch]
            xb, yb = x_train[idx].to(device), y_train[idx].to(device)
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(idx)
            correct += (out.detach().argmax(1) == yb).sum()
        loss_sum, correct = float(loss_sum), int(correct)  # syncs the device
        sync()
        seconds = time.perf_counter() - start
        val_loss, val_acc = evaluate(model, val, device, a.batch)
        row = dict(epoch=epoch, train_loss=loss_sum / n, train_acc=correct / n,
                   val_loss=val_loss, val_acc=val_acc, lr=a.lr, seconds=seconds,
                   images_per_second=n / seconds)
        history.append(row)
        print(f"epoch {epoch}: train_loss {row['train_loss']:.4f} train_acc {row['train_acc']:.4f} "
              f"val_loss {val_loss:.4f} val_acc {val_acc:.4f} {seconds:.2f}s "
              f"{row['images_per_second']:.0f} img/s")

    test_loss, test_acc = evaluate(model, test, device, a.batch)
    last = history[-1]
    result = dict(
        framework="pytorch", torch_version=torch.__version__, threads=torch.get_num_threads(),
        device=a.device, epochs=a.epochs, batch=a.batch, lr=a.lr, momentum=a.momentum,
        seed=a.seed, limit=a.limit, warmup_steps=a.warmup,
        train_images=n, val_images=len(val[0]), test_images=len(test[0]),
        train_loss=last["train_loss"], train_acc=last["train_acc"],
        val_loss=last["val_loss"], val_acc=last["val_acc"],
        test_loss=test_loss, test_acc=test_acc,
        seconds=sum(r["seconds"] for r in history),
        images_per_second=n * len(history) / sum(r["seconds"] for r in history),
        history=history)
    print(f"result: {result['images_per_second']:.0f} img/s (training phase only, after "
          f"{a.warmup} untimed warm-up steps), val_acc {last['val_acc']:.4f}, "
          f"test_loss {test_loss:.4f} test_acc {test_acc:.4f}, torch {torch.__version__}, "
          f"{result['threads']} threads")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f)
            f.write("\n")


if __name__ == "__main__":
    main()
