// How the expectations of tests/cli_url.rs were taken from Node v20.20.2.
//
//   node cli_url_probe.js URL [OPTIONS]
//     http.request(URL, OPTIONS).end() through the usual agents, every agent
//     connecting to a raw net server on 127.0.0.1; prints the head that server
//     received (JSON-quoted), or what request() threw. OPTIONS is a JavaScript
//     object literal, so `{path: undefined}` can be written.
//   node cli_url_probe.js --options URL...
//     prints require('url').urlToHttpOptions(new URL(URL)) for each URL.
const http = require('http');
const net = require('net');
const { urlToHttpOptions } = require('url');

const args = process.argv.slice(2);
if (args[0] === '--options') {
  for (const s of args.slice(1)) {
    try {
      const { protocol, hostname, port, path, auth } = urlToHttpOptions(new URL(s));
      console.log(JSON.stringify(s), JSON.stringify({ protocol, hostname, port, path, auth }));
    } catch (e) {
      console.log(JSON.stringify(s), 'throw', e.name, e.code, JSON.stringify(e.message));
    }
  }
} else {
  const [url, literal] = args;
  const server = net.createServer((socket) => {
    let got = '';
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        console.log(JSON.stringify(got));
        socket.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
        server.close();
      }
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    http.Agent.prototype.createConnection = () => net.connect(port, '127.0.0.1');
    try {
      const options = literal === undefined ? undefined : eval(`(${literal})`);
      const req = options === undefined ? http.request(url) : http.request(url, options);
      req.on('error', (e) => console.log('error', e.code, e.message));
      req.on('response', (res) => res.resume());
      req.end();
    } catch (e) {
      console.log('throw', e.name, e.code, JSON.stringify(e.message));
      server.close();
    }
  });
}
