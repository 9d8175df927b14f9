#!/bin/bash
# natrig-test: alone (natrig image prune removes app images other files may be about to use)
# natrig image prune (needs:engine), apart from cli_test.sh so that only this runs alone:
# while a run is live (it holds natrig.imagelock from before its image checks to its
# teardown) prune removes nothing, names the run and exits 1, and the run goes on; once
# it has ended prune removes natrig's images no container uses and keeps the current base.
# An extra tag of the base image stands for an image a run has checked but not yet used.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
extra="natrig/base:prunetest-$$"
trap 'kill "$hp" 2>/dev/null; wait 2>/dev/null; docker image rm "$extra" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
$NATRIG image build >"$tmp/b" 2>&1; ok $? "image build (up to date or built)"
base=$(sed -n 's/^\(natrig\/base:[0-9a-f]*\).*/\1/p; s/^built \(natrig\/base:.*\)/\1/p' "$tmp/b" | head -1)
[ -n "$base" ] && docker tag "$base" "$extra"; ok $? "an extra natrig-labelled tag $extra of $base"

$NATRIG run tests/engine/fixtures/hold.lua hold=6 >"$tmp/h" 2>&1 & hp=$!
for _ in $(seq 300); do grep -q "^UP " "$tmp/h" && break; kill -0 $hp 2>/dev/null || break; sleep 0.1; done
run=$(sed -n 's/^UP //p' "$tmp/h"); [ -n "$run" ]; ok $? "a run is up and holding ($run)"
t0=$(date +%s%N)
NATRIG_PRUNE_WAIT=1 $NATRIG image prune >"$tmp/p1" 2>&1; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc = 1 ]; ok $? "prune beside a live run exits 1 (got $rc, after ${ms} ms)"
sed 's/^/# /' "$tmp/p1"
grep -q "live natrig run(s) hold .*$run.*removed nothing" "$tmp/p1"; ok $? "it names the live run and says it removed nothing"
! grep -q "^removed " "$tmp/p1"; ok $? "it removed no image"
docker image inspect "$extra" >/dev/null 2>&1; ok $? "the image the run may need ($extra) is still there"
wait $hp; ok $? "the held run still works and ends well (its probe, its teardown)"

$NATRIG image prune >"$tmp/p2" 2>&1; ok $? "prune after the run ended exits 0"
sed 's/^/# /' "$tmp/p2" | tail -5
grep -q "^removed $extra\$" "$tmp/p2"; ok $? "it removes the unused $extra"
! docker image inspect "$extra" >/dev/null 2>&1; ok $? "$extra is gone"
grep -q "current: $base\$" "$tmp/p2" && docker image inspect "$base" >/dev/null 2>&1; ok $? "the current base image is kept"
$NATRIG image ls >"$tmp/ls" 2>&1 && grep -q "natrig/base:" "$tmp/ls"; ok $? "image ls still lists the base image"
[ -z "$(docker ps -aq --filter "label=natrig.run=$run")" ]; ok $? "the held run left no container"
done_tap
