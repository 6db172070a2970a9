# Sourced by the CLI tests. Needs $py, $tmp and $data (the data set).
# few_test_images N: $tmp/data holds the training files as they are and the
# first N test images, and $data points there (the end-of-run evaluation then
# takes seconds, not minutes, on lavapipe).
few_test_images() {
  mkdir -p "$tmp/data"
  ln -s "$data"/train-* "$tmp/data/"
  "$py" - "$data" "$tmp/data" "$1" <<'PY'
import gzip, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for name, header, size in (("t10k-images-idx3-ubyte", 16, 784), ("t10k-labels-idx1-ubyte", 8, 1)):
    raw = gzip.open(src + "/" + name + ".gz").read()
    head = bytearray(raw[:header])
    head[4:8] = n.to_bytes(4, "big")
    gzip.open(dst + "/" + name + ".gz", "wb").write(bytes(head) + raw[header:header + n * size])
PY
  data=$tmp/data
}
