#!/usr/bin/env node
// A Node.js v20 client, run by courier-suite (`src/peers.rs`) against every adapter's server.
//
//   node node-client.js <scenario> <port>
//
// Each scenario drives the server with Node's own `http` client (or a raw `net`
// socket) and prints one JSON object on stdout describing what Node saw. The Rust
// test asserts on it. Exit status 0 unless the script itself broke.
'use strict';

const http = require('http');
const net = require('net');

const [scenario, portText] = process.argv.slice(2);
const port = Number(portText);
const host = '127.0.0.1';

function done(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

// Fail loudly rather than hang the Rust test.
setTimeout(() => done({ error: 'scenario timed out' }), 10000).unref();

function collect(res) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    res.on('error', reject);
  });
}

function once(opts, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, ...opts }, async (res) => {
      try {
        const text = await collect(res);
        resolve({
          status: res.statusCode,
          message: res.statusMessage,
          headers: res.headers,
          trailers: res.trailers,
          rawTrailers: res.rawTrailers,
          body: text,
          reused: req.reusedSocket,
          localPort: res.socket ? res.socket.localPort : null,
        });
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const scenarios = {
  // A keep-alive Agent with one socket: three requests, one connection.
  async keepalive() {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const out = [];
    for (let i = 0; i < 3; i++) {
      out.push(await once({ path: `/hello?i=${i}`, agent }));
    }
    // Two in parallel on the one socket: the second waits in the agent's queue.
    const both = await Promise.all([
      once({ path: '/hello?p=0', agent }),
      once({ method: 'POST', path: '/echo', agent, headers: { 'content-length': 3 } }, 'abc'),
    ]);
    agent.destroy();
    return { sequential: out, parallel: both };
  },

  // Three pipelined requests in one write on a raw socket.
  async pipeline() {
    const sock = net.connect(port, host);
    const chunks = [];
    sock.on('data', (c) => chunks.push(c));
    await new Promise((r) => sock.on('connect', r));
    sock.write(
      'GET /hello?n=1 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
        'GET /hello?n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    await new Promise((r) => sock.on('close', r));
    return { raw: Buffer.concat(chunks).toString('latin1') };
  },

  // A streamed (chunked) upload, several writes.
  async chunked() {
    return new Promise((resolve, reject) => {
      const req = http.request({ host, port, method: 'PUT', path: '/echo' }, async (res) => {
        resolve({ status: res.statusCode, headers: res.headers, body: await collect(res) });
      });
      req.on('error', reject);
      req.write('one,');
      setTimeout(() => {
        req.write('two,');
        req.end('three');
      }, 20);
    });
  },

  // Expect: 100-continue: Node waits for 'continue' before sending the body.
  async continue() {
    return new Promise((resolve, reject) => {
      const events = [];
      const req = http.request(
        {
          host,
          port,
          method: 'POST',
          path: '/echo',
          headers: { expect: '100-continue', 'content-length': 4 },
        },
        async (res) => {
          events.push('response');
          resolve({ events, status: res.statusCode, body: await collect(res) });
        },
      );
      req.on('error', reject);
      req.on('continue', () => {
        events.push('continue');
        req.end('body');
      });
    });
  },

  // Trailers both ways.
  async trailers() {
    const down = await once({ path: '/trailers' });
    const up = await new Promise((resolve, reject) => {
      const req = http.request({ host, port, method: 'POST', path: '/echo' }, async (res) => {
        resolve({ status: res.statusCode, headers: res.headers, body: await collect(res) });
      });
      req.on('error', reject);
      req.setHeader('Trailer', 'X-Sum');
      req.write('abc');
      req.addTrailers({ 'X-Sum': '42' });
      req.end();
    });
    return { down, up };
  },

  // An upgrade: Node's 'upgrade' event gets the 101 head, the socket and the bytes
  // the server sent right after the head; then the socket talks the new protocol.
  async upgrade() {
    return new Promise((resolve, reject) => {
      const req = http.request({
        host,
        port,
        path: '/chat',
        headers: { connection: 'Upgrade', upgrade: 'echo' },
      });
      req.on('error', reject);
      req.on('response', (res) => resolve({ error: `no upgrade: ${res.statusCode}` }));
      req.on('upgrade', (res, socket, head) => {
        const got = [head];
        socket.on('data', (c) => {
          got.push(c);
          const text = Buffer.concat(got).toString('latin1');
          if (text.endsWith('ping')) {
            socket.end();
            resolve({ status: res.statusCode, headers: res.headers, stream: text });
          }
        });
        socket.write('ping');
      });
      req.end();
    });
  },

  // CONNECT: Node's 'connect' event gets the 200 and the tunnel's socket.
  async connect() {
    return new Promise((resolve, reject) => {
      const req = http.request({ host, port, method: 'CONNECT', path: 'example.test:443' });
      req.on('error', reject);
      req.on('response', (res) => resolve({ error: `no connect: ${res.statusCode}` }));
      req.on('connect', (res, socket, head) => {
        const got = [head];
        socket.on('data', (c) => {
          got.push(c);
          const text = Buffer.concat(got).toString('latin1');
          if (text.endsWith('hello')) {
            socket.end();
            resolve({ status: res.statusCode, message: res.statusMessage, stream: text });
          }
        });
        socket.write('hello');
      });
      req.end();
    });
  },
};

const run = scenarios[scenario];
if (!run) {
  done({ error: `unknown scenario ${scenario}` });
} else {
  run().then(done, (e) => done({ error: String(e && e.stack ? e.stack : e), code: e && e.code }));
}
