#!/bin/sh
# Runs every test suite (unit tests, Bats, the OCI conformance subset, the layering check,
# ShellCheck, man-page lint), prints each suite's own
# output, and ends with one line "N passed, N failed" summed over all of them. Exits 1 if
# anything failed.
set -u
cd "$(dirname "$0")/.." || exit 125
passed=0
failed=0
skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { # count SUITE-NAME PASSED FAILED
  echo "== $1: $2 passed, $3 failed"
  passed=$((passed + $2))
  failed=$((failed + $3))
}

echo "== unit tests"
tests/unit/run-unit >"$log" 2>&1
cat "$log"
count unit "$(grep -c '^ok - ' "$log")" "$(grep -c '^not ok - ' "$log")"

echo "== bats"
if [ "$(id -u)" != 0 ]; then
  echo "warning: not root: tests that need root will skip" >&2
fi
bats --tap tests/bats >"$log" 2>&1
cat "$log"
s=$(grep -c '^ok .* # skip' "$log")
count bats "$(($(grep -c '^ok ' "$log") - s))" "$(grep -c '^not ok ' "$log")"
skipped=$((skipped + s))
# A suite that crashed before its plan was met counts as one failure.
if ! grep -q '^1\.\.' "$log"; then count "bats (no plan)" 0 1; fi

# The runtime-spec's conformance suite, its fast subset (`make oci-validate` runs all of it).
echo "== OCI conformance, fast subset (tests/oci-conformance.sh)"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root"
  skipped=$((skipped + 1))
else
  bash tests/oci-conformance.sh >"$log" 2>&1
  cat "$log"
  # One count per validation test, as for Bats; the script's last line counts TAP points.
  line=$(grep '^conformance tests: [0-9]* passed, [0-9]* failed$' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    count conformance "$(echo "$line" | sed 's/^conformance tests: \([0-9]*\) passed.*/\1/')" \
      "$(echo "$line" | sed 's/.* \([0-9]*\) failed$/\1/')"
  else
    count "conformance (no result)" 0 1
  fi
fi

echo "== layering (tests/lint-layers.sh)"
sh tests/lint-layers.sh >"$log" 2>&1
cat "$log"
line=$(tail -n 1 "$log")
count layering "$(echo "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')" \
  "$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')"

echo "== shellcheck"
p=0 f=0
for file in bin/koker tests/install-deps.sh tests/check.sh tests/demo.sh tests/lint-layers.sh; do
  [ -f "$file" ] || continue
  if shellcheck -s sh "$file"; then p=$((p + 1)); else f=$((f + 1)); fi
done
for file in tests/bats/*.bash tests/bats/*.bats tests/oci-conformance.sh .ci/run bench/*.sh \
  completions/koker.bash; do
  [ -f "$file" ] || continue
  if shellcheck -x -s bash "$file"; then p=$((p + 1)); else f=$((f + 1)); fi
done
count shellcheck "$p" "$f"

echo "== mandoc -Tlint"
p=0 f=0
for page in man/*.1 man/*.7; do
  [ -f "$page" ] || continue
  if out=$(mandoc -Tlint -Wwarning "$page" 2>&1) && [ -z "$out" ]; then
    p=$((p + 1))
  else
    echo "$out"
    f=$((f + 1))
  fi
done
count mandoc "$p" "$f"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
