#!/bin/sh
# Runs a GUI test with a display and a session bus: as given when both exist (tools/run-tests
# starts Xvfb and dbus-run-session around `meson test`), else inside xvfb-run and/or
# dbus-run-session, so `meson test` also works from a plain terminal.
set -eu
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  exec xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$@"
fi
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  exec dbus-run-session -- "$@"
fi
exec "$@"
