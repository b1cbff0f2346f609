#!/usr/bin/env bash
# Runs the station in a real window under Xvfb (1920x1080) on a free port and
# display with alarms of every priority, pauses the audio as a nurse would
# (key P), and saves a screenshot. Usage: screenshot.sh BIN OUT [SECONDS [SCREEN]]
#   SCREEN: a screen to open over the same ward (vigil --open): login, admin, journal,
#   burden, events, bed:05, trends:05, disclosure:05; the ward starts with 24 h of
#   simulated trend history (--sim-history) so trends have something to show
#   bed 05: the simulator's desaturation scenario (Vigil's own HIGH limit alarm)
#   bed 07: a device's MEDIUM alarm, bed 09: a device's LOW technical alarm,
#   bed 12: a nurse call (MEDIUM, latching)
# REPLAY="RECORD BED FROM" also plays a real recording as bed BED from FROM into
# it (vigil sim --replay), after SIM_BEDS simulated beds (default 16).
# HL7="FILE..." runs the station's HL7 bridge and sends it those PCD-01 messages
# (MLLP, from testdata/hl7), as a hospital's existing monitors would.
set -euo pipefail
bin=$1 out=$2 wait=${3:-25} screen=${4:-}
simbeds=${SIM_BEDS:-16} replay=${REPLAY:-} hl7=${HL7:-} size=${SCREEN_SIZE:-1920x1080}
# SCREEN "keys:K1 K2 ..." types those keys (xdotool names) after the wait instead,
# for views that need the ward's alarms first (events, full disclosure).
open="" keys=""
case "$screen" in keys:*) keys=${screen#keys:} ;; "") ;; *) open=$screen ;; esac
disp=$(for n in $(seq 90 140); do [ -e /tmp/.X11-unix/X$n ] || [ -e /tmp/.X$n-lock ] || { echo $n; break; }; done)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18830)
data=$(mktemp -d)
Xvfb ":$disp" -screen 0 "${size}x24" -nolisten tcp >/dev/null 2>&1 &
xpid=$!
rpid=""
trap 'kill $vpid $rpid 2>/dev/null; kill $xpid 2>/dev/null; rm -rf "$data"' EXIT
sleep 1
hl7port=""
if [ -n "$hl7" ]; then
  hl7port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf '[hl7]\nlisten = "127.0.0.1:%s"\nunits = ["7W", "ICU"]\n' "$hl7port" >"$data/vigil.toml"
fi
DISPLAY=":$disp" "$bin" --listen "127.0.0.1:$port" --data "$data" --audio off --notify=false --window "$size" \
  --sim "$simbeds" --scenario desat --bed 5 --sim-history 24h ${open:+--open "$open"} \
  ${hl7:+--config "$data/vigil.toml"} 2>"$data/err.log" &
vpid=$!
if [ -n "$replay" ]; then
  read -r rrec rbed rfrom <<<"$replay"
  sleep 2
  "$bin" sim --broker "tcp://127.0.0.1:$port" --replay "$rrec" --bed "$rbed" --from "${rfrom:-0s}" 2>"$data/replay.log" &
  rpid=$!
fi
echo "station on display :$disp, broker port $port; screenshot in ${wait}s"
sleep 8
now=$(date +%s%3N)
pub() { mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t "vigil/v1/ICU1/$1" -m "$2"; }
pub 07/alarm '{"id":"HR-HI-1","seq":1,"ts":'"$now"',"code":196648,"param":147842,"priority":"medium","source":"physiological","phase":"start","state":"active","value":134,"limit":120,"unit":"/min","text":"HR 134 > 120"}'
pub 09/alarm '{"id":"SPO2-PROBE-1","seq":1,"ts":'"$now"',"code":196660,"priority":"low","source":"technical","phase":"start","state":"active","text":"SpO2 probe loose"}'
pub 12/event '{"id":"CALL-1","seq":1,"ts":'"$now"',"kind":"nurse_call","text":"bathroom"}'
if [ -n "$hl7" ]; then
  # every 3 s, as a monitor sends its numerics
  python3 - "$hl7port" $hl7 <<'PY' &
import socket, sys, time
msgs = [open(f, 'rb').read() for f in sys.argv[2:]]
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
for k in range(40):
    for f, m in zip(sys.argv[2:], msgs):
        s.sendall(b"\x0b" + m + b"\x1c\r")
        ack = s.recv(65536).decode(errors="replace")
        if k == 0:
            print("HL7", f, "->", ack.split("MSA|")[1][:2] if "MSA|" in ack else ack, flush=True)
    time.sleep(3)
PY
  rpid="$rpid $!"
fi
sleep $((wait - 12))
DISPLAY=":$disp" xdotool search --name "Vigil" windowfocus --sync 2>/dev/null || true
[ -n "$screen" ] || DISPLAY=":$disp" xdotool key p
[ -z "$keys" ] || { DISPLAY=":$disp" xdotool key --delay 400 $keys; sleep 3; }
sleep 4
mkdir -p "$(dirname "$out")"
DISPLAY=":$disp" import -window root "$out"
echo "saved $out"
