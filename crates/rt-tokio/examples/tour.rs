//! A tour of courier over tokio: one server on 127.0.0.1 and courier's own client
//! talking to it, the way two Node.js v20 programs using `http` would. It exercises
//! keep-alive through an Agent, a chunked upload, `Expect: 100-continue`, trailers, an
//! upgrade and a CONNECT tunnel, prints what happened, and exits 0 (non-zero if any
//! step saw something other than Node's behaviour).
//!
//! ```sh
//! cargo run --release --example tour
//! ```

use std::error::Error;
use std::net::SocketAddr;

use bytes::Bytes;
use courier_rt_tokio::{
    Agent, AgentChoice, AgentOptions, ClientOptions, HeaderValue, IncomingMessage, RequestEvent,
    RequestOptions, Server, ServerOptions, ServerResponse, create_server, get, request,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

/// Fails the tour with `what` unless `ok`.
fn check(ok: bool, what: &str) -> Result {
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected: {what}").into())
    }
}

/// The 'request' listener.
async fn handle(mut req: IncomingMessage, mut res: ServerResponse) {
    let url = req.url().into_owned();
    let outcome = match url.as_str() {
        "/hello" => {
            let _ = res.set_header("Content-Type", "text/plain");
            let port = req.socket().remote_addr().map_or(0, |a| a.port());
            let _ = res.set_header("X-Client-Port", port.to_string());
            res.end(Some(Bytes::from_static(b"Hello, World!"))).await
        }
        "/upload" => {
            // Count the chunks as they arrive: the body is never buffered whole.
            let te = req
                .headers()
                .get_str("transfer-encoding")
                .unwrap_or_default();
            let (mut chunks, mut bytes) = (0, 0);
            while let Some(Ok(chunk)) = req.chunk().await {
                chunks += 1;
                bytes += chunk.len();
            }
            let summary = format!("{bytes} bytes in {chunks} read(s), transfer-encoding {te:?}");
            res.end(Some(summary.into())).await
        }
        "/trailers" => {
            let _ = res.set_header("Trailer", "X-Checksum");
            let _ = res.write(Bytes::from_static(b"part one, ")).await;
            let _ = res.write(Bytes::from_static(b"part two")).await;
            let _ = res.add_trailers([("X-Checksum", HeaderValue::from("c0ffee"))]);
            res.end(None).await
        }
        _ => {
            let _ = res.set_status_code(404);
            res.end(None).await
        }
    };
    if let Err(e) = outcome {
        eprintln!("server: {url}: {e}");
    }
}

/// The server: the request handler plus 'checkContinue', 'upgrade' and 'connect'.
async fn start_server() -> Result<(Server, SocketAddr)> {
    let server = create_server(ServerOptions::default(), handle)?;
    // 'checkContinue': accept bodies up to 1 KiB, refuse larger ones without reading.
    server.on_check_continue(|mut req, mut res| async move {
        let len: usize = req
            .headers()
            .get_str("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(usize::MAX);
        if len > 1024 {
            let _ = res.set_status_code(413);
            let _ = res.end(None).await;
            return;
        }
        let _ = res.write_continue();
        let body = req.read_body().await.unwrap_or_default();
        let _ = res
            .end(Some(format!("accepted {} bytes", body.len()).into()))
            .await;
    });
    // 'upgrade': an `echo-upper` protocol that answers every byte upper-cased.
    server.on_upgrade(|_req, mut socket, head| async move {
        let _ = socket
            .write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo-upper\r\n\r\n")
            .await;
        let mut pending = head.to_vec();
        let mut buf = [0u8; 1024];
        loop {
            if !pending.is_empty() {
                pending.make_ascii_uppercase();
                if socket.write_all(&pending).await.is_err() {
                    return;
                }
                pending.clear();
            }
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        }
    });
    // 'connect': a real tunnel to the authority the client named.
    server.on_connect(|req, mut socket, head| async move {
        let target = req.url().into_owned();
        match tokio::net::TcpStream::connect(target.as_str()).await {
            Ok(mut upstream) => {
                let _ = socket
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await;
                let _ = upstream.write_all(&head).await;
                let _ = tokio::io::copy_bidirectional(&mut socket, &mut upstream).await;
            }
            Err(_) => {
                let _ = socket.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
            }
        }
    });
    let addr = server.listen("127.0.0.1:0").await?;
    Ok((server, addr))
}

async fn keep_alive(base: &str) -> Result {
    let agent = Agent::new(AgentOptions {
        keep_alive: true,
        ..AgentOptions::default()
    })?;
    let mut reused = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..3 {
        let options =
            ClientOptions::url(format!("{base}/hello")).agent(AgentChoice::Agent(agent.clone()));
        let mut req = get(options)?;
        let mut res = req.response().await?;
        let body = res.read_body().await?;
        check(&body[..] == b"Hello, World!", "the hello body")?;
        reused.push(req.reused_socket());
        ports.push(res.headers().get_str("x-client-port").unwrap_or_default());
    }
    check(
        reused == [false, true, true],
        "reusedSocket false, true, true",
    )?;
    check(ports.iter().all(|p| *p == ports[0]), "one client port")?;
    println!(
        "keep-alive     3 GETs through one Agent: reusedSocket {reused:?}, client port {} each time, {} socket(s) pooled",
        ports[0],
        agent.total_socket_count()
    );
    agent.destroy();
    Ok(())
}

async fn chunked_upload(base: &str) -> Result {
    let mut req = request(ClientOptions::url(format!("{base}/upload")).method("PUT"))?;
    for part in ["first ", "second ", "third"] {
        req.write(Bytes::from_static(part.as_bytes())).await?;
    }
    req.end(None)?;
    let mut res = req.response().await?;
    let summary = String::from_utf8(res.read_body().await?.to_vec())?;
    check(
        summary.contains("18 bytes") && summary.contains("chunked"),
        &summary,
    )?;
    println!("chunked upload 3 writes without a length -> server read {summary}");
    Ok(())
}

async fn expect_continue(base: &str) -> Result {
    let mut req = request(
        ClientOptions::url(format!("{base}/upload"))
            .method("POST")
            .header("Expect", "100-continue")
            .header("Content-Length", 11),
    )?;
    req.flush_headers()?;
    // The body waits for the server's verdict.
    let mut got_continue = false;
    while let Some(event) = req.next_event().await {
        if event == RequestEvent::Continue {
            got_continue = true;
            break;
        }
    }
    check(got_continue, "a 100 Continue")?;
    req.end(Some(Bytes::from_static(b"hello there")))?;
    let mut res = req.response().await?;
    let text = String::from_utf8(res.read_body().await?.to_vec())?;
    check(text == "accepted 11 bytes", &text)?;

    let mut big = request(
        ClientOptions::url(format!("{base}/upload"))
            .method("POST")
            .header("Expect", "100-continue")
            .header("Content-Length", 1_000_000),
    )?;
    big.flush_headers()?;
    let refused = big.response().await?;
    check(refused.status_code() == 413, "413 for the large body")?;
    println!(
        "100-continue   11 bytes: 'continue', then {:?}; 1 MB: {} without sending the body",
        text,
        refused.status_code()
    );
    Ok(())
}

async fn trailers(base: &str) -> Result {
    let mut req = get(format!("{base}/trailers"))?;
    let mut res = req.response().await?;
    let body = String::from_utf8(res.read_body().await?.to_vec())?;
    let trailers = res.trailers().ok_or("no trailers")?;
    let sum = trailers.get_str("x-checksum").unwrap_or_default();
    check(
        body == "part one, part two" && sum == "c0ffee",
        "the trailer",
    )?;
    println!("trailers       chunked body {body:?}, then trailer x-checksum: {sum}");
    Ok(())
}

async fn upgrade(base: &str) -> Result {
    let mut req = request(
        ClientOptions::url(format!("{base}/chat"))
            .header("Connection", "Upgrade")
            .header("Upgrade", "echo-upper"),
    )?;
    req.end(None)?;
    let mut socket = req.upgrade().await?;
    check(socket.status_code() == 101, "101 Switching Protocols")?;
    socket.write_all(b"hello, upgraded world").await?;
    let mut back = [0u8; 21];
    socket.read_exact(&mut back).await?;
    check(&back == b"HELLO, UPGRADED WORLD", "the upper-cased echo")?;
    println!(
        "upgrade        101 to echo-upper; sent \"hello, upgraded world\", got {:?}",
        String::from_utf8_lossy(&back)
    );
    Ok(())
}

async fn connect(addr: SocketAddr) -> Result {
    // Tunnel through the server to itself, then speak HTTP/1.1 by hand in the tunnel.
    let mut req = request(ClientOptions::from(RequestOptions {
        method: Some("CONNECT".into()),
        path: Some(addr.to_string()),
        hostname: Some(addr.ip().to_string()),
        port: Some(addr.port()),
        ..RequestOptions::default()
    }))?;
    let mut tunnel = req.upgrade().await?;
    check(tunnel.status_code() == 200, "200 Connection Established")?;
    tunnel
        .write_all(b"GET /hello HTTP/1.1\r\nHost: tour\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    tunnel.read_to_end(&mut answer).await?;
    let answer = String::from_utf8(answer)?;
    check(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("Hello, World!"),
        "the tunnelled response",
    )?;
    let status_line = answer.lines().next().unwrap_or_default();
    println!(
        "CONNECT        tunnel to {addr} opened; inside it GET /hello -> {status_line:?}, {} bytes",
        answer.len()
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result {
    let (server, addr) = start_server().await?;
    let base = format!("http://{addr}");
    println!("courier tour: server listening on {base}/");
    keep_alive(&base).await?;
    chunked_upload(&base).await?;
    expect_continue(&base).await?;
    trailers(&base).await?;
    upgrade(&base).await?;
    connect(addr).await?;
    server.close();
    server.close_all_connections();
    println!("done: every step behaved as Node's http does");
    Ok(())
}
