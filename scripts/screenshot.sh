#!/usr/bin/env bash
# Runs the station in a real window under Xvfb (1920x1080) on a free port and
# display, waits, and saves a screenshot. Usage: screenshot.sh BIN OUT [SECONDS]
set -euo pipefail
bin=$1 out=$2 wait=${3:-80}
disp=$(for n in $(seq 90 140); do [ -e /tmp/.X11-unix/X$n ] || [ -e /tmp/.X$n-lock ] || { echo $n; break; }; done)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18830)
data=$(mktemp -d)
Xvfb ":$disp" -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 &
xpid=$!
trap 'kill $vpid 2>/dev/null; kill $xpid 2>/dev/null; rm -rf "$data"' EXIT
sleep 1
DISPLAY=":$disp" "$bin" --listen "127.0.0.1:$port" --data "$data" 2>"$data/err.log" &
vpid=$!
echo "station on display :$disp, broker port $port; screenshot in ${wait}s"
sleep "$wait"
mkdir -p "$(dirname "$out")"
DISPLAY=":$disp" import -window root "$out"
echo "saved $out"
