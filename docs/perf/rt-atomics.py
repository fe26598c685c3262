#!/usr/bin/env python3
"""Locked read-modify-write instructions per request, from a callgrind profile made
with --dump-instr=yes (rt-instr.sh does so with RT_INSTR_ATOMICS=1).

usage: rt-atomics.py PROFILE BINARY N [--where]

Counts the executions of every `lock`-prefixed instruction and `xchg` (locked
implicitly) in BINARY's own code (tokio, std and the crates linked into it, not
libc), divided by N, by function; --where adds each hot instruction's inline chain
(addr2line). An uncontended locked instruction costs tens of cycles where a plain
one costs a fraction of one: callgrind counts both as one instruction, so this
count is the other half of the instruction figure.
"""
import collections, re, subprocess, sys

prof, binary, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
where = "--where" in sys.argv[4:]

cost, fn_of = collections.Counter(), {}
objs, fns = {}, {}
addr, in_bin, fn, after_calls = 0, False, None, False
name_def = re.compile(r"(c?)(ob|fn)=\((\d+)\)(?: (.*))?")
for line in open(prof):
    m = name_def.match(line.strip())
    if m:
        table = objs if m.group(2) == "ob" else fns
        if m.group(4):
            table[m.group(3)] = m.group(4)
        if not m.group(1):  # ob= / fn= switch the current object / function
            if m.group(2) == "ob":
                in_bin = objs.get(m.group(3)) == binary
            else:
                fn = fns.get(m.group(3))
        continue
    if line.startswith("calls="):
        after_calls = True
        continue
    if not line or line[0] not in "0123456789+-*":
        continue
    parts = line.split()
    p = parts[0]
    if p.startswith("0x"):
        addr = int(p, 16)
    elif p[0] in "+-":
        addr += int(p) if not p[1:].startswith("0x") else int(p[0] + p[3:], 16)
    if after_calls:  # the line after calls= is the call's inclusive cost
        after_calls = False
        continue
    if in_bin and len(parts) >= 3:
        cost[addr] += int(parts[2])
        fn_of[addr] = fn

dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary],
                     capture_output=True, text=True, check=True).stdout
locked = re.compile(r"\s*([0-9a-f]+):\s+((?:lock |xchg).*)")
total, by_fn, hot = 0, collections.Counter(), []
for l in dis.splitlines():
    m = locked.match(l)
    if not m:
        continue
    a = int(m.group(1), 16)
    c = cost.get(a, 0)
    if c:
        total += c
        by_fn[(fn_of.get(a) or "?")[:110]] += c
        if c / n >= 0.5:
            hot.append((a, c, m.group(2)))
print(f"locked RMW per request: {total / n:.2f}")
for f, c in by_fn.most_common(20):
    if c / n >= 0.05:
        print(f"{c / n:6.2f} {f}")
if where:
    for a, c, ins in hot:
        out = subprocess.run(["addr2line", "-i", "-e", binary, hex(a)],
                             capture_output=True, text=True).stdout.split()
        chain = " <- ".join(x.split("/")[-1] for x in out[:7])
        print(f"{c / n:5.2f} {ins[:30]:30} {chain}")
