#!/usr/bin/env python3
"""Regenerates node_cases.rs: chunked bodies run through real Node v20.

Every input below is sent after the head
    POST / HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n
to node-oracle.js (server mode), once with Node's defaults and once with
insecureHTTPParser, and what Node did is written down as a Rust table:
the body bytes it delivered, or the parse error (code, reason, offset from
the start of the body). `Incomplete` means Node was still waiting for bytes.

    python3 gen_node_cases.py /path/to/node-oracle.js > node_cases.rs
"""
import base64
import json
import subprocess
import sys

HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
END = b"\r\nhello\r\n0\r\n\r\n"

CASES = [
    # sizes
    b"5\r\nhello\r\n0\r\n\r\n",
    b"A\r\n0123456789\r\n0\r\n\r\n",
    b"a\r\n0123456789\r\n0\r\n\r\n",
    b"1e\r\nall your base are belong to us\r\n0\r\n\r\n",
    b"5\r\nhello\r\n6\r\n world\r\n000\r\n\r\n",
    b"FFFFFFFFFFFFFFFF\r\nabc",
    b"ffffffffffffffff\r\nabc",
    b"10000000000000000\r\nabc",
    b"FFFFFFFFFFFFFFFFF\r\n",
    b"00000000000000000005\r\nhello\r\n0\r\n\r\n",
    b"0x5\r\n",
    b"x\r\n",
    b"\r\n",
    b"-5\r\n",
    b"+5\r\n",
    b"g\r\n",
    b"5g\r\n",
    b"5 5\r\nhello\r\n0\r\n\r\n",
    b"5 \r\nhello\r\n0\r\n\r\n",
    b"5\t\r\nhello\r\n0\r\n\r\n",
    b"5 \t \r\nhello\r\n0\r\n\r\n",
    b"5  x\r\nhello\r\n0\r\n\r\n",
    b"5 ;a\r\nhello\r\n0\r\n\r\n",
    b"5 \nhello\r\n0\r\n\r\n",
    b"5 \n\nhello\r\n0\r\n\r\n",
    b"5\nhello\r\n0\r\n\r\n",
    b"5\n\nhello\r\n0\r\n\r\n",
    b"5\rhello\r\n0\r\n\r\n",
    b"5\r\rhello\r\n0\r\n\r\n",
    b"5\r\n\r\n\r\n",
    # extensions
    b"5;\r\nhello\r\n0\r\n\r\n",
    b"5;\nhello\r\n0\r\n\r\n",
    b"5;\n\nhell\r\n0\r\n\r\n",
    b"5; a\r\nhello\r\n0\r\n\r\n",
    b"5;\ta\r\nhello\r\n0\r\n\r\n",
    b"5;a \r\nhello\r\n0\r\n\r\n",
    b"5;a b\r\nhello\r\n0\r\n\r\n",
    b"5;a=b c\r\nhello\r\n0\r\n\r\n",
    b"5;a= b\r\nhello\r\n0\r\n\r\n",
    b"5;a =b\r\nhello\r\n0\r\n\r\n",
    b"5;a;b\r\nhello\r\n0\r\n\r\n",
    b"5;;b\r\nhello\r\n0\r\n\r\n",
    b"5;=b\r\nhello\r\n0\r\n\r\n",
    b"5;=\r\nhello\r\n0\r\n\r\n",
    b"5;a=\r\nhello\r\n0\r\n\r\n",
    b"5;a=\rhello\r\n0\r\n\r\n",
    b"5;a\nhello\r\n0\r\n\r\n",
    b"5;a\n\nhello\r\n0\r\n\r\n",
    b"5;a\n\nhell\r\n0\r\n\r\n",
    b"5;a\r\rhell\r\n0\r\n\r\n",
    b"5;a=b\nhello\r\n0\r\n\r\n",
    b"5;a=b\n\nhell\r\n0\r\n\r\n",
    b"5;a=\"b\"\nhello\r\n0\r\n\r\n",
    b"5;a=\"b\"\n\nhell\r\n0\r\n\r\n",
    b"5;a=\"b\"x\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"b\" \r\nhello\r\n0\r\n\r\n",
    b"5;a=b\"c\"\r\nhello\r\n0\r\n\r\n",
    b"5;a=b\"c\"d\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"b\\\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"b\\\x01\"\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"b\\\"c\\\\\"\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"b\x01\"\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"b\x80\xff\"\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"\t \"\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"b\x7f\"\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"\"\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"b;c\"\r\nhello\r\n0\r\n\r\n",
    b"5;a\x7f\r\nhello\r\n0\r\n\r\n",
    b"5;a@\r\nhello\r\n0\r\n\r\n",
    b"5;a=@\r\nhello\r\n0\r\n\r\n",
    b"5;a=b;\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"b\";\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"b\";c=d\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"b\"=\"c\"\r\nhello\r\n0\r\n\r\n",
    b"5;a=b=c\r\nhello\r\n0\r\n\r\n",
    b"5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\r\nhello\r\n0\r\n\r\n",
    # data terminators
    b"5\r\nhelloX\r\n0\r\n\r\n",
    b"5\r\nhello5\r\nworld\r\n0\r\n\r\n",
    b"5\r\nhello\r5\r\nworld\r\n0\r\n\r\n",
    b"5\r\nhello\rX\r\n0\r\n\r\n",
    b"5\r\nhello\r\r\n0\r\n\r\n",
    b"5\r\nhello\n0\r\n\r\n",
    b"5\r\nhello\n\n0\r\n\r\n",
    b"5\r\nhello0\r\n\r\n",
    b"5\r\nhello\r\n\r\n",
    b"3\r\nfoo\r\n\r\n",
    b"1\n\n\r\n0\r\n\r\n",
    b"1\r\r\n\r\n0\r\n\r\n",
    # the last chunk
    b"5\r\nhello\r\n0;a=b\r\n\r\n",
    b"5\r\nhello\r\n0\r\r\n",
    b"5\r\nhello\r\n0 \r\n\r\n",
    b"5\r\nhello\r\n0\n\r\n",
    b"0\n\r\n",
    b"0;a\n\r\n",
    b"5\r\nhello\r\n0\r\n",
]

# One byte in each extension position (name, token value, quoted value, quoted pair).
SWEEPS = [
    (b"5;a", b"b\r\nhello\r\n0\r\n\r\n"),
    (b"5;a=x", b"b\r\nhello\r\n0\r\n\r\n"),
    (b"5;a=\"x", b"b\"\r\nhello\r\n0\r\n\r\n"),
    (b"5;a=\"x\\", b"b\"\r\nhello\r\n0\r\n\r\n"),
    (b"5", b"\r\nhello\r\n0\r\n\r\n"),
    (b"5\r\nhello", b"\n0\r\n\r\n"),
]


def inputs():
    out = list(CASES)
    for pre, post in SWEEPS:
        out.extend(pre + bytes([c]) + post for c in range(256))
    return out


def run(oracle, bodies, insecure):
    lines = "".join(
        json.dumps({"id": str(i), "input_b64": base64.b64encode(HEAD + b).decode()}) + "\n"
        for i, b in enumerate(bodies)
    )
    args = ["node", oracle, "server", "--no-require-host"] + (["--insecure"] if insecure else [])
    out = subprocess.run(args, input=lines.encode(), capture_output=True, check=True).stdout
    return [json.loads(line) for line in out.decode().splitlines()]


def rust_bytes(b):
    s = ""
    for c in b:
        if c == 0x22:
            s += '\\"'
        elif c == 0x5C:
            s += "\\\\"
        elif c == 0x0D:
            s += "\\r"
        elif c == 0x0A:
            s += "\\n"
        elif c == 0x09:
            s += "\\t"
        elif 0x20 <= c < 0x7F:
            s += chr(c)
        else:
            s += "\\x%02x" % c
    return 'b"' + s + '"'


def expect(r):
    err = r.get("client_error")
    if err and err.get("code") == "HPE_INVALID_EOF_STATE":
        return "Incomplete"
    if err:
        off = err["bytesParsed"] - len(HEAD)
        return 'Fails("%s", "%s", %d)' % (err["code"], err["reason"], off)
    reqs = r.get("requests") or []
    if len(reqs) == 1 and reqs[0].get("complete"):
        return "Complete(%s)" % rust_bytes(base64.b64decode(reqs[0]["body_b64"]))
    raise SystemExit("unexpected oracle result: %r" % r)


def main():
    oracle = sys.argv[1]
    bodies = inputs()
    n = len(CASES)
    print("// @generated by gen_node_cases.py from Node v20.20.2 (llhttp 9.3.1); do not edit.")
    results = {ins: [expect(r) for r in run(oracle, bodies, ins)] for ins in (False, True)}
    print()
    print("/// (input after the head, insecureHTTPParser, what Node did)")
    print("const NODE_CASES: &[(&[u8], bool, NodeExpect)] = &[")
    for insecure in (False, True):
        for body, e in zip(CASES, results[insecure][:n]):
            print("    (%s, %s, %s)," % (rust_bytes(body), "true" if insecure else "false", e))
    print("];")
    print()
    print("/// (prefix, suffix, insecureHTTPParser, outcomes, outcome index for each byte 0..=255")
    print("/// put between prefix and suffix, as an ASCII letter: `a` is `outcomes[0]`)")
    print("const NODE_SWEEPS: &[Sweep] = &[")
    for insecure in (False, True):
        for k, (pre, post) in enumerate(SWEEPS):
            res = results[insecure][n + 256 * k:n + 256 * (k + 1)]
            distinct = sorted(set(res), key=res.index)
            assert len(distinct) <= 26
            index = "".join(chr(ord("a") + distinct.index(e)) for e in res)
            print("    (")
            print("        %s," % rust_bytes(pre))
            print("        %s," % rust_bytes(post))
            print("        %s," % ("true" if insecure else "false"))
            print("        &[")
            for e in distinct:
                print("            %s," % e)
            print("        ],")
            print('        b"%s",' % index)
            print("    ),")
    print("];")


if __name__ == "__main__":
    main()
