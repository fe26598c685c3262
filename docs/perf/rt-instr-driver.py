#!/usr/bin/env python3
"""Fixed-count load for rt-instr.sh: N requests over C connections, depth D pipelined.
usage: drive.py PORT N DEPTH [CONNS]
RT_INSTR_REQ=wrk sends the request wrk sends in `cargo xtask bench server` (Host and
Connection only) instead of the default browser-like head with an Accept field."""
import os, socket, sys, time, selectors
port, n, depth = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
conns = int(sys.argv[4]) if len(sys.argv) > 4 else 1
REQ = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
       b"Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n"
       b"Connection: keep-alive\r\n\r\n") % port
if os.environ.get("RT_INSTR_REQ") == "wrk":
    REQ = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: keep-alive\r\n\r\n" % port
MARK = b"Hello, World!"
# wait for the server
for _ in range(600):
    try:
        s = socket.create_connection(("127.0.0.1", port)); s.close(); break
    except OSError:
        time.sleep(0.1)
sel = selectors.DefaultSelector()
state = {}
left = n
for i in range(conns):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    state[s] = [0, b""]
    sel.register(s, selectors.EVENT_READ)
def send(s):
    global left
    k = min(depth, left)
    if k <= 0: return False
    left -= k
    s.sendall(REQ * k)
    state[s][0] = k
    return True
for s in list(state):
    send(s)
done = 0
while done < n:
    for key, _ in sel.select():
        s = key.fileobj
        data = s.recv(65536)
        if not data: sys.exit("closed")
        buf = state[s][1] + data
        c = buf.count(MARK)
        done += c
        state[s][1] = buf[buf.rfind(MARK) + len(MARK):] if c else buf
        state[s][0] -= c
        if state[s][0] == 0:
            send(s)
print("done", done)
