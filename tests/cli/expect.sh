# Sourced by the CLI tests. Needs $fovea, $tmp, and the counters $fails and
# $passes (set to 0 by the caller).
# expect CODE PATTERN -- ARGS...: exit code CODE, exactly one stderr line,
# matching the extended regex PATTERN.
expect() {
  local code=$1 pattern=$2
  shift 3
  "$fovea" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  local lines
  lines=$(grep -c '' "$tmp/err")
  if [ "$got" -ne "$code" ] || [ "$lines" -ne 1 ] || ! grep -Eq -- "$pattern" "$tmp/err"; then
    echo "FAIL: fovea $* -> exit $got (want $code), $lines stderr line(s), want /$pattern/:"
    sed 's/^/    /' "$tmp/err"
    fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
}
