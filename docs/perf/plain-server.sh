# Sourced by plain-split.sh and plain-calls.sh: starts the server BIN
# (`--port P --threads 1`) pinned to CPU 0 at nice -10 on a random port, waits until
# it accepts, warms it with one second of `wrk -t1 -c64` from CPU 1, and sets `pid`
# and `url`. The server is stopped when the sourcing script exits, as is anything
# the script adds to `cleanup`.
start_plain_server() {
    local bin=$1 port=$((20000 + RANDOM % 20000))
    taskset -c 0 nice -n -10 "$bin" --port $port --threads 1 >/dev/null 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null || true; eval "${cleanup:-}"' EXIT
    for _ in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null && break
        sleep 0.1
    done
    url=http://127.0.0.1:$port/
    taskset -c 1 wrk -t1 -c64 -d1s "$url" >/dev/null 2>&1
}
