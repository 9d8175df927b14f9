#!/bin/bash
# natrig-test: serial (natrig image prune removes app images other files may be about to use)
# natrig image prune (needs:engine), apart from cli_test.sh so that only this runs alone:
# it removes natrig's images no container uses, keeps the current base image, and the
# next run builds what it needs again.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
$NATRIG image prune >"$tmp/o" 2>&1 && grep -q "current: natrig/base:" "$tmp/o"; ok $? "image prune keeps the current image"
sed 's/^/# /' "$tmp/o" | tail -5
docker image inspect "$(sed -n 's/.*current: //p' "$tmp/o")" >/dev/null 2>&1; ok $? "the current base image is still there after prune"
$NATRIG image ls >"$tmp/ls" 2>&1 && grep -q "natrig/base:" "$tmp/ls"; ok $? "image ls still lists the base image"
done_tap
