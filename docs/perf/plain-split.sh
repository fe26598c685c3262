#!/bin/bash
# Where a plain keep-alive request's CPU goes, server and wrk side, under
# `wrk -t1 -c64` for SECS seconds (server pinned to CPU 0 at nice -10, wrk to CPU 1,
# as `bench server` lays them out). Prints per request: the server's user and
# system time (/proc/PID/stat), its voluntary context switches (sleeps), how often
# CPU 0 went idle (cpuidle entries; absent on machines without cpuidle) and how
# long each idle period lasted, and wrk's own user and system time.
#
#   docs/perf/plain-split.sh NAME BIN [SECS]
#   docs/perf/plain-split.sh ours target/bench-lto/hello-tokio
#   docs/perf/plain-split.sh hyper .tools/anchors-target/release/hyper-server
#
# BIN must take `--port P --threads 1`. Run servers alternately, several times:
# consecutive runs differ by a few percent on a VM.
set -eu
name=$1; bin=$2; secs=${3:-5}
. "$(dirname "$0")/plain-server.sh"
start_plain_server "$bin"
idle=/sys/devices/system/cpu/cpu0/cpuidle/state1
sample() {
    local cu ct
    cu=$(cat $idle/usage 2>/dev/null || echo 0)
    ct=$(cat $idle/time 2>/dev/null || echo 0)
    echo "$(awk '{print $14, $15}' /proc/$pid/stat) $(awk '/^voluntary_ctxt/{print $2}' /proc/$pid/status) $cu $ct"
}
before=$(sample)
out=$( { /usr/bin/time -f "WRKTIME %U %S" taskset -c 1 wrk -t1 -c64 -d${secs}s "$url"; } 2>&1 )
after=$(sample)
python3 - "$name" "$secs" "$(getconf CLK_TCK)" "$before" "$after" "$out" <<'PY'
import sys
name, secs, tck = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
b = [float(x) for x in sys.argv[4].split()]
a = [float(x) for x in sys.argv[5].split()]
out = sys.argv[6]
reqs = next(float(l.split()[0]) for l in out.splitlines() if "requests in" in l)
wu, ws = next(map(float, l.split()[1:3]) for l in out.splitlines() if l.startswith("WRKTIME"))
d = [y - x for x, y in zip(b, a)]
us = lambda ticks: ticks / tck / reqs * 1e6
entries = d[3] / reqs
per_entry = d[4] / d[3] if d[3] else 0.0
print(f"{name}: {reqs / secs:.0f} req/s; server user {us(d[0]):.3f} + system {us(d[1]):.3f}"
      f" = {us(d[0] + d[1]):.3f} us/req, sleeps {d[2] / reqs:.4f}/req,"
      f" CPU 0 idle entries {entries:.4f}/req ({per_entry:.1f} us each);"
      f" wrk user {wu / reqs * 1e6:.3f} + system {ws / reqs * 1e6:.3f} us/req")
PY
