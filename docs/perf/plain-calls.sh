#!/bin/bash
# What wrk and the server do per plain keep-alive request under `wrk -t1 -c64` for
# SECS seconds (server pinned to CPU 0 at nice -10, wrk to CPU 1, as `bench server`
# lays them out): the system calls each makes (perf's syscall tracepoints), their
# context switches, and the TCP segments on loopback (nstat). Needs root for the
# tracepoints.
#
#   docs/perf/plain-calls.sh NAME BIN [SECS]
#   docs/perf/plain-calls.sh ours target/bench-lto/hello-tokio
#   docs/perf/plain-calls.sh hyper .tools/anchors-target/release/hyper-server
#
# BIN must take `--port P --threads 1`.
set -eu
name=$1; bin=$2; secs=${3:-5}
tmp=$(mktemp -d)
cleanup='rm -rf "$tmp"'
. "$(dirname "$0")/plain-server.sh"
start_plain_server "$bin"
ev=sched:sched_switch
for call in read write recvfrom sendto writev epoll_wait epoll_ctl; do
    ev="$ev,syscalls:sys_enter_$call"
done
nstat -n
perf stat -x, -e "$ev" -p $pid -o "$tmp/server" &
perf_pid=$!
sleep 0.2
perf stat -x, -e "$ev" -o "$tmp/wrk" -- taskset -c 1 nice -n -10 wrk -t1 -c64 -d${secs}s "$url" >"$tmp/out" 2>&1
kill -INT $perf_pid; wait $perf_pid || true
nstat TcpInSegs TcpOutSegs TcpExtDelayedACKs TcpExtTCPPureAcks >"$tmp/segs" 2>/dev/null || true
reqs=$(awk '/requests in/{print $1}' "$tmp/out")
echo "$name: $reqs requests, $((reqs / secs)) req/s; per request:"
for side in wrk server; do
    awk -F, -v r="$reqs" -v s=$side '$1 ~ /^[0-9]+$/ {
        sub("syscalls:sys_enter_", "", $3); sub("sched:sched_switch", "context switches", $3)
        printf "  %-6s %-16s %.4f\n", s, $3, $1 / r }' "$tmp/$side"
done
awk -v r="$reqs" 'NF >= 2 && $2 ~ /^[0-9]+$/ { printf "  tcp    %-16s %.4f\n", $1, $2 / r }' "$tmp/segs"
