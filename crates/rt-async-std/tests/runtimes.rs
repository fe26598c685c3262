//! The adapter outside smol's global executor: inside `async_std::task::block_on`
//! with async-std's spawner, on a Unix socket, and with proto's timeouts firing on
//! async-io timers.

use std::time::{Duration, Instant};

use courier_rt_async_std::{
    Client, ServerOptions, Spawn, create_server, create_server_with, get, request,
};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

fn async_std_spawner() -> impl Spawn {
    |f| {
        async_std::task::spawn(f);
    }
}

/// Server and client both spawn on async-std's executor; async-std's own
/// `TcpStream` talks to the server (one async-io reactor under both).
#[test]
fn runs_inside_async_std_block_on() {
    async_std::task::block_on(async {
        let server = create_server_with(
            ServerOptions::default(),
            async_std_spawner(),
            |mut req, mut res| async move {
                let body = req.read_body().await.unwrap_or_default();
                // Wait on a timer so that the handler continues on a spawned task.
                async_io::Timer::after(Duration::from_millis(5)).await;
                res.set_header("x-len", body.len().to_string()).unwrap();
                res.end(Some("hello from async-std".into())).await.unwrap();
            },
        )
        .unwrap();
        let addr = server.listen("127.0.0.1:0").await.unwrap();

        let client = Client::new(async_std_spawner());
        // POST: Node sends a GET's body unframed (no Content-Length), as courier does.
        let opts =
            courier_rt_async_std::ClientOptions::url(format!("http://{addr}/x")).method("POST");
        let mut req = client.request(opts).unwrap();
        req.end(Some("abc".into())).unwrap();
        let mut res = req.response().await.unwrap();
        assert_eq!(res.status_code(), 200);
        assert_eq!(res.headers().get_str("x-len").as_deref(), Some("3"));
        assert_eq!(&res.read_body().await.unwrap()[..], b"hello from async-std");

        let mut s = async_std::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.ends_with("hello from async-std"), "{out}");

        server.close();
        server.closed().await;
    });
}

/// `server.listen(path)` and the client's `socketPath`.
#[cfg(unix)]
#[test]
fn listens_on_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("courier-async-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("http.sock");
    let _ = std::fs::remove_file(&path);
    smol::block_on(async {
        let server = create_server(ServerOptions::default(), |req, mut res| async move {
            let url = req.url().into_owned();
            res.end(Some(format!("unix {url}").into())).await.unwrap();
        })
        .unwrap();
        server.listen_unix(&path).unwrap();
        // An existing file makes a second listen fail, as in Node.
        assert!(server.listen_unix(&path).is_err());

        let mut opts = courier_rt_async_std::ClientOptions {
            socket_path: Some(path.to_string_lossy().into_owned()),
            ..Default::default()
        };
        opts.request.path = Some("/over-unix".into());
        let mut req = request(opts).unwrap();
        req.end(None).unwrap();
        let mut res = req.response().await.unwrap();
        assert_eq!(&res.read_body().await.unwrap()[..], b"unix /over-unix");

        let mut s = async_net::unix::UnixStream::connect(&path).await.unwrap();
        s.write_all(b"GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.ends_with("unix /raw"), "{out}");

        server.close();
        assert!(!path.exists(), "close removes the socket file");
    });
}

/// Proto's keep-alive timeout closes an idle connection on an async-io timer, and
/// the client's request timeout fires as an event.
#[test]
fn timeouts_fire_on_async_io_timers() {
    smol::block_on(async {
        let options = ServerOptions {
            keep_alive_timeout: Duration::from_millis(100),
            ..ServerOptions::default()
        };
        let server = create_server(options, |_req, mut res| async move {
            res.end(Some("ok".into())).await.unwrap();
        })
        .unwrap();
        let addr = server.listen("127.0.0.1:0").await.unwrap();

        let mut s = async_net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let start = Instant::now();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let idle = start.elapsed();
        assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(
            idle >= Duration::from_millis(90) && idle < Duration::from_secs(3),
            "closed after {idle:?}"
        );

        // A server that never answers: the client's timeout is an event.
        let silent = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_addr = silent.local_addr().unwrap();
        let opts = courier_rt_async_std::ClientOptions::url(format!("http://{silent_addr}/"))
            .timeout(Duration::from_millis(50));
        let mut req = get(opts).unwrap();
        let _held = silent.accept().await.unwrap();
        let mut saw_timeout = false;
        while let Some(e) = req.next_event().await {
            if e == courier_rt_async_std::RequestEvent::Timeout {
                saw_timeout = true;
                req.destroy();
                break;
            }
        }
        assert!(saw_timeout);
        server.close();
    });
}
