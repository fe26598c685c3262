#!/usr/bin/env node
// A Node.js v20 server, run by courier-suite (`src/peers.rs`) for every adapter's client.
//
//   node node-server.js
//
// Listens on 127.0.0.1, port chosen by the system, prints `{"port":N}` as its first
// line on stdout, and serves until its stdin closes (the Rust test holds the pipe, so
// the server never outlives the test). Routes:
//
// * `GET /hello`: `Hello, World!`, with `x-remote-port` (the client socket's port,
//   which tells a reused keep-alive connection from a new one) and `x-count` (how
//   many requests that socket has carried);
// * `/echo`: the request body back, with `x-method`, `x-te`, `x-cl`, `x-expect` and
//   `x-trailers` (the request's trailers as `name=value;…`);
// * `/trailers`: a chunked body in two writes with an `x-checksum` trailer;
// * `/hints`: a 103 Early Hints with a `link`, then `done`;
// * `checkContinue` (any request with `Expect: 100-continue`): `writeContinue()`,
//   then the body back with `x-continued: yes`;
// * `upgrade`: 101 with `Upgrade: echo`, then every byte back (the `head` first);
// * `connect`: `200 Connection Established`, then every byte back prefixed with
//   the request's authority and `|` once.
'use strict';

const http = require('http');

const perSocket = new WeakMap();

function count(socket) {
  const n = (perSocket.get(socket) || 0) + 1;
  perSocket.set(socket, n);
  return n;
}

function collect(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function echo(req, res, extra) {
  const body = await collect(req);
  const trailers = Object.entries(req.trailers)
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
  res.writeHead(200, {
    'x-method': req.method,
    'x-te': req.headers['transfer-encoding'] || '',
    'x-cl': req.headers['content-length'] || '',
    'x-expect': req.headers.expect || '',
    'x-trailers': trailers,
    ...extra,
  });
  res.end(body);
}

const server = http.createServer(async (req, res) => {
  const n = count(req.socket);
  if (req.url === '/hello') {
    res.writeHead(200, {
      'content-type': 'text/plain',
      'x-remote-port': String(req.socket.remotePort),
      'x-count': String(n),
    });
    res.end('Hello, World!');
  } else if (req.url === '/echo') {
    await echo(req, res, {});
  } else if (req.url === '/trailers') {
    res.writeHead(200, { trailer: 'x-checksum' });
    res.write('part1,');
    res.write('part2');
    res.addTrailers({ 'x-checksum': 'abc123' });
    res.end();
  } else if (req.url === '/hints') {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
    res.end('done');
  } else {
    res.statusCode = 404;
    res.end();
  }
});

server.on('checkContinue', async (req, res) => {
  res.writeContinue();
  await echo(req, res, { 'x-continued': 'yes' });
});

server.on('upgrade', (req, socket, head) => {
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n',
  );
  if (head.length) socket.write(head);
  socket.pipe(socket);
});

server.on('connect', (req, socket, head) => {
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  socket.write(`${req.url}|`);
  if (head.length) socket.write(head);
  socket.pipe(socket);
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
