# tests/engine/lib.sh - shared by the shell engine tests: TAP counters and the engine gate.
# Under CI=true a missing engine is a failure, never a skip.
cd "$(dirname "$0")/../.." || exit 1
NATRIG=${NATRIG_BIN:-build/natrig}
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
done_tap() { echo "1..$n"; [ $failed = 0 ]; }
if ! docker info >/dev/null 2>&1; then
  if [ "$CI" = true ]; then echo "not ok 1 - engine required under CI=true"; echo "1..1"; exit 1; fi
  echo "1..0 # SKIP no Docker Engine"; exit 0
fi
