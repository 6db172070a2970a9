# Shared by the CLI test scripts (sourced with the script's own arguments,
# FOVEA_BINARY SOURCE_DIR): the binary, the data set (the script is skipped
# without it), a temporary directory removed at exit, and two helpers.
#   fail MESSAGE                  count a failure and print it
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
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect() {
  local code=$1 pattern=$2
  shift 3
  "$fovea" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$? lines
  lines=$(grep -c '' "$tmp/err")
  if [ "$got" -ne "$code" ] || [ "$lines" -ne 1 ] || ! grep -Eq -- "$pattern" "$tmp/err"; then
    fail "fovea $* -> exit $got (want $code), $lines stderr line(s), want /$pattern/: $(cat "$tmp/err")"
  fi
}

if [ ! -d "$data" ]; then
  echo "skipped: $data missing"
  exit 0
fi
