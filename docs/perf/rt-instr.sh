#!/bin/bash
# Instructions per request of an HTTP server under callgrind (deterministic; perf
# counters are not available on our VMs). Starts BIN under valgrind, sends a warm-up
# of 2000 requests, zeroes the counters, sends N requests (DEPTH pipelined per write,
# over CONNS connections) with rt-instr-driver.py, dumps and prints the total / N.
#
#   docs/perf/rt-instr.sh BIN DEPTH N [CONNS]
#   docs/perf/rt-instr.sh $CARGO_TARGET_DIR/release/examples/hello-server 16 16000
#   docs/perf/rt-instr.sh $ANCHORS_BIN/hyper-server 1 5000
#
# RT_INSTR_REQ=wrk in the environment sends wrk's two-field request instead.
# RT_INSTR_ATOMICS=1 also counts locked read-modify-write instructions per request
# (rt-atomics.py; `objdump` and `addr2line` from binutils).
# RT_INSTR_CACHE=1 also simulates the data cache (callgrind --cache-sim) and prints
# first-level data cache misses per request (reads and writes): the distinct
# lines of per-connection state a request touches, in effect, at 64 connections.
# BIN must take `--port P --threads 1`. Plain mode (DEPTH 1) depends on whether the
# next request is already there when the server finishes one (load on the machine):
# compare plain figures only from alternating runs.
set -eu
BIN=$1; DEPTH=$2; N=$3; CONNS=${4:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
D=$(mktemp -d /tmp/rt-instr.XXXXXX)
port=$((20000 + RANDOM % 20000))
extra=()
[ "${RT_INSTR_ATOMICS:-}" = 1 ] && extra+=(--dump-instr=yes)
[ "${RT_INSTR_CACHE:-}" = 1 ] && extra+=(--cache-sim=yes)
valgrind --tool=callgrind "${extra[@]}" --callgrind-out-file="$D/cg.%p" "$BIN" --port $port --threads 1 >/dev/null 2>"$D/vg.log" &
vp=$!
for _ in $(seq 50); do python3 -c "import socket,sys; socket.create_connection((\"127.0.0.1\", $port)).close()" 2>/dev/null && break; sleep 0.2; done
python3 "$HERE/rt-instr-driver.py" $port 2000 "$DEPTH" "$CONNS" >/dev/null
sleep 0.5
callgrind_control -z $vp >/dev/null 2>&1
python3 "$HERE/rt-instr-driver.py" $port "$N" "$DEPTH" "$CONNS" >/dev/null
sleep 0.5
callgrind_control -d $vp >/dev/null 2>&1
sleep 0.5
f=$(ls -t "$D"/cg.* | head -1)
totals=$(grep -h '^summary:\|^totals:' "$f" | head -1)
tot=$(echo "$totals" | awk '{print $2}')
kill -KILL $vp; wait $vp 2>/dev/null || true
echo "depth=$DEPTH conns=$CONNS N=$N instr=$tot per_req=$(( tot / N )) profile=$f"
if [ "${RT_INSTR_ATOMICS:-}" = 1 ]; then
    python3 "$HERE/rt-atomics.py" "$f" "$(readlink -f "$BIN")" "$N"
fi
if [ "${RT_INSTR_CACHE:-}" = 1 ]; then
    # events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
    echo "$totals" | awk -v n="$N" '{printf "D1 misses per request: %.1f read + %.1f write\n", $6 / n, $7 / n}'
fi
