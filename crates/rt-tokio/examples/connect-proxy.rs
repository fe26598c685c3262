//! The tunnelling proxy of Node's `http` documentation (`server.on('connect', …)`),
//! over courier: a `CONNECT host:port` request opens a TCP connection to that
//! authority, answers `200 Connection Established`, and copies bytes both ways until
//! either side closes. Other requests get `405`.
//!
//! By default it starts the proxy and a small origin server on free ports, opens a
//! tunnel to the origin through the proxy with courier's client (Node's
//! `http.request({ method: 'CONNECT', … })` + `'connect'`), speaks HTTP/1.1 inside the
//! tunnel, prints what came back and exits. With `--serve` the proxy keeps running
//! (`--port P`, default 1337), e.g. for
//! `curl -p -x http://127.0.0.1:1337 http://example.com/`.
//!
//! ```sh
//! cargo run -p courier-rt-tokio --example connect-proxy
//! cargo run -p courier-rt-tokio --example connect-proxy -- --serve --port 1337
//! ```

use std::error::Error;

use bytes::Bytes;
use courier_rt_tokio::{
    ClientOptions, RequestOptions, Server, ServerOptions, create_server, request,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

fn proxy() -> Result<Server> {
    let proxy = create_server(ServerOptions::default(), |_req, mut res| async move {
        let _ = res.set_status_code(405);
        let _ = res.set_header("Allow", "CONNECT");
        let _ = res.end(None).await;
    })?;
    proxy.on_connect(|req, mut client, head| async move {
        // `req.url()` is the authority: `host:port`.
        let authority = req.url().into_owned();
        let mut upstream = match TcpStream::connect(authority.as_str()).await {
            Ok(s) => s,
            Err(e) => {
                let reply = format!("HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n{e}\n");
                let _ = client.write_all(reply.as_bytes()).await;
                return;
            }
        };
        let established =
            b"HTTP/1.1 200 Connection Established\r\nProxy-agent: courier-connect-proxy\r\n\r\n";
        if client.write_all(established).await.is_err() || upstream.write_all(&head).await.is_err()
        {
            return;
        }
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    });
    Ok(proxy)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result {
    let mut port: u16 = 1337;
    let mut serve = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--serve" => serve = true,
            "--port" => port = args.next().ok_or("--port needs a value")?.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let proxy = proxy()?;
    if serve {
        let addr = proxy.listen(("127.0.0.1", port)).await?;
        println!("connect-proxy listening on {addr}");
        proxy.closed().await;
        return Ok(());
    }

    // An origin server to tunnel to.
    let origin = create_server(ServerOptions::default(), |_req, mut res| async move {
        let _ = res.set_header("Content-Type", "text/plain");
        let _ = res
            .end(Some(Bytes::from_static(b"hello through the tunnel\n")))
            .await;
    })?;
    let origin_addr = origin.listen("127.0.0.1:0").await?;
    let proxy_addr = proxy.listen("127.0.0.1:0").await?;
    println!("connect-proxy listening on {proxy_addr}; origin on {origin_addr}");

    let mut req = request(ClientOptions::from(RequestOptions {
        method: Some("CONNECT".into()),
        path: Some(origin_addr.to_string()),
        hostname: Some(proxy_addr.ip().to_string()),
        port: Some(proxy_addr.port()),
        ..RequestOptions::default()
    }))?;
    let mut tunnel = req.upgrade().await?;
    println!(
        "client: CONNECT {origin_addr} -> {} {}",
        tunnel.status_code(),
        String::from_utf8_lossy(&tunnel.response().reason)
    );
    if tunnel.status_code() != 200 {
        return Err("the proxy refused the tunnel".into());
    }
    tunnel
        .write_all(b"GET / HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    tunnel.read_to_end(&mut answer).await?;
    let answer = String::from_utf8(answer)?;
    println!("client: through the tunnel:\n{answer}");
    if !answer.ends_with("hello through the tunnel\n") {
        return Err("unexpected answer through the tunnel".into());
    }
    proxy.close();
    origin.close();
    println!("done");
    Ok(())
}
