"""IDX data sets for the CLI tests: read Fashion-MNIST's files, write a
modified subset (fewer images, changed labels) as a data directory.

read(src, name): the images [N, 784] or the labels [N] of the gzip IDX file
src/name.gz (name as "train-images-idx3-ubyte").
write(dst, train_images, train_labels, test_images, test_labels): the four
gzip IDX files of a 28x28 data set in dst.
"""
import gzip

import numpy as np


def read(src, name):
    raw = gzip.open(src + "/" + name + ".gz").read()
    if "images" in name:
        return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784)
    return np.frombuffer(raw, np.uint8, offset=8)


def _write(path, magic, dims, payload):
    head = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in dims)
    gzip.open(path, "wb").write(head + np.ascontiguousarray(payload, np.uint8).tobytes())


def write(dst, train_images, train_labels, test_images, test_labels):
    for prefix, images, labels in (("train", train_images, train_labels), ("t10k", test_images, test_labels)):
        _write(dst + "/" + prefix + "-images-idx3-ubyte.gz", 0x803, (len(images), 28, 28), images)
        _write(dst + "/" + prefix + "-labels-idx1-ubyte.gz", 0x801, (len(labels),), labels)
