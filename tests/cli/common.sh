# Shared by the CLI test scripts (sourced with the script's own arguments,
# FOVEA_BINARY SOURCE_DIR): the binary, the data set (the script is skipped
# without it), a temporary directory removed at exit, three helpers and the
# skips of tests/cli/skip.sh.
#   fail MESSAGE                  count a failure and print it
#   check NAME STATUS             count a pass (STATUS 0) or a failure named NAME
#   expect CODE PATTERN -- ARGS   fovea ARGS must exit CODE with one stderr
#                                 line matching PATTERN (grep -E)
set -u
fovea=$1
src=$2
data=/usr/share/datasets/fashion-mnist
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
passes=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { if [ "$2" -eq 0 ]; then passes=$((passes + 1)); else fail "$1"; fi; }
. "$src/tests/cli/expect.sh"
. "$src/tests/cli/skip.sh"

if [ ! -d "$data" ]; then
  skip_test dep "$data missing (dataset-fashion-mnist)"
fi
