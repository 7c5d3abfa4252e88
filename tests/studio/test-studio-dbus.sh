#!/bin/sh
# Drives a running jointdit-studio over D-Bus as a script would: in its own session bus, wait for
# the bus name, then `gapplication action` open-image, generate, export (MP4, WAV, PNG frames)
# and quit. The exports are asked for right after generate: the app must write them once the
# generation is done, through temporary files that are renamed into place.
#   test-studio-dbus.sh JOINTDIT-STUDIO IMAGE
set -eu
if [ -z "${DBUS_STUDIO_TEST_INNER:-}" ]; then
  # A bus of our own: two studios on one bus would merge into one.
  DBUS_STUDIO_TEST_INNER=1 exec dbus-run-session -- "$0" "$@"
fi
studio=$1
image=$2
app_id=io.github.jointdit.Studio
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail () { echo "FAIL: $*" >&2; exit 1; }

"$studio" >"$work/studio.log" 2>&1 &
pid=$!
gdbus wait --session --timeout 30 "$app_id" || fail "the studio did not own $app_id within 30 s"

# A wrong parameter type is refused by D-Bus, not crashed on.
if gapplication action "$app_id" open-image 42 2>/dev/null; then
  fail "open-image accepted an integer"
fi

gapplication action "$app_id" open-image "'$image'"
gapplication action "$app_id" generate
gapplication action "$app_id" export "'$work/clip.mp4'"
gapplication action "$app_id" export "'$work/clip.wav'"
gapplication action "$app_id" export "'$work/frames/'"

waited=0
until [ -f "$work/clip.mp4" ] && [ -f "$work/clip.wav" ] && [ -f "$work/frames/00004.png" ]; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/studio.log" >&2; fail "the studio exited early"; }
  [ $waited -lt 240 ] || { cat "$work/studio.log" >&2; fail "the exports did not appear in 120 s"; }
  sleep 0.5
  waited=$((waited + 1))
done

head -c 12 "$work/clip.mp4" | grep -q ftyp || fail "clip.mp4 is not an MP4 file"
head -c 4 "$work/clip.wav" | grep -q RIFF || fail "clip.wav is not a WAV file"
[ "$(ls "$work/frames" | wc -l)" -eq 5 ] || fail "frames/ does not hold the 5 frames"
if ls "$work" | grep -q '\.tmp$'; then fail "a temporary file was left behind"; fi

gapplication action "$app_id" quit
waited=0
while kill -0 "$pid" 2>/dev/null; do
  [ $waited -lt 60 ] || fail "the studio did not quit within 30 s"
  sleep 0.5
  waited=$((waited + 1))
done
wait "$pid" || fail "the studio exited with status $?"
echo "ok: open-image, generate, export (mp4, wav, frames) and quit over D-Bus"
