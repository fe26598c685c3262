//! An upgrade server in the shape of Node's `server.on('upgrade', …)` example: a
//! request with `Connection: Upgrade` and `Upgrade: echo` is answered `101 Switching
//! Protocols`, and from then on the socket echoes every byte. Ordinary requests get a
//! plain `426 Upgrade Required`.
//!
//! By default it starts on a free port, upgrades one connection with courier's client,
//! echoes a few messages, prints them and exits. With `--serve` it keeps serving
//! (`--port P`, default 8080), for example for
//! `curl -i --http1.1 -H 'Connection: Upgrade' -H 'Upgrade: echo' http://127.0.0.1:8080/`.
//!
//! ```sh
//! cargo run -p courier-rt-tokio --example upgrade-echo
//! cargo run -p courier-rt-tokio --example upgrade-echo -- --serve --port 8080
//! ```

use std::error::Error;

use courier_rt_tokio::{ClientOptions, Server, ServerOptions, create_server, request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

fn server() -> Result<Server> {
    let server = create_server(ServerOptions::default(), |_req, mut res| async move {
        let _ = res.set_status_code(426);
        let _ = res.set_header("Upgrade", "echo");
        let _ = res
            .end(Some("this server speaks echo: send Upgrade: echo\n".into()))
            .await;
    })?;
    server.on_upgrade(|req, mut socket, head| async move {
        let wanted = req.headers().get_str("upgrade").unwrap_or_default();
        if !wanted.eq_ignore_ascii_case("echo") {
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                .await;
            return;
        }
        let _ = socket
            .write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
            )
            .await;
        // Bytes the client sent right behind its request head come first (Node's `head`).
        if socket.write_all(&head).await.is_err() {
            return;
        }
        let (mut rd, mut wr) = tokio::io::split(socket);
        let _ = tokio::io::copy(&mut rd, &mut wr).await;
    });
    Ok(server)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result {
    let mut port: u16 = 8080;
    let mut serve = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--serve" => serve = true,
            "--port" => port = args.next().ok_or("--port needs a value")?.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let server = server()?;
    if serve {
        let addr = server.listen(("127.0.0.1", port)).await?;
        println!("upgrade-echo listening on http://{addr}/");
        server.closed().await;
        return Ok(());
    }

    let addr = server.listen("127.0.0.1:0").await?;
    println!("upgrade-echo listening on http://{addr}/");
    let mut req = request(
        ClientOptions::url(format!("http://{addr}/"))
            .header("Connection", "Upgrade")
            .header("Upgrade", "echo"),
    )?;
    req.end(None)?;
    let mut socket = req.upgrade().await?;
    println!(
        "client: {} {}",
        socket.status_code(),
        String::from_utf8_lossy(&socket.response().reason)
    );
    for message in ["hello", "from", "courier"] {
        socket.write_all(message.as_bytes()).await?;
        let mut back = vec![0u8; message.len()];
        socket.read_exact(&mut back).await?;
        if back != message.as_bytes() {
            return Err(format!("echo of {message:?} came back as {back:?}").into());
        }
        println!(
            "client: sent {message:?}, echoed {:?}",
            String::from_utf8_lossy(&back)
        );
    }
    drop(socket);
    server.close();
    server.closed().await;
    println!("done");
    Ok(())
}
