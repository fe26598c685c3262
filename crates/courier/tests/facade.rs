//! The facade's surface: Node's module-level functions and constants at the root, and
//! with each adapter's feature a server and a client made through it.

#[test]
fn module_functions_and_constants() {
    // CONST-1, CONST-2, CONST-3
    assert_eq!(courier::STATUS_CODES.len(), 63);
    assert_eq!(courier::status_text(418), Some("I'm a Teapot"));
    assert!(courier::METHODS.contains(&"QUERY"));
    assert_eq!(courier::MAX_HEADER_SIZE, 16384);
    // VAL-1, VAL-2
    assert!(courier::validate_header_name("x-ok").is_ok());
    let err = courier::validate_header_name("bad name").unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_HTTP_TOKEN");
    let err = courier::validate_header_value("x", Some("a\nb")).unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_CHAR");
}

/// The root's `create_server` and `get` are the tokio adapter's.
#[cfg(feature = "tokio")]
#[tokio::test]
async fn the_roots_server_and_client_are_tokios() {
    let server = courier::create_server(
        courier::ServerOptions::default(),
        |req, mut res| async move {
            res.set_header("X-Url", req.url().into_owned()).unwrap();
            res.end(Some("hi".into())).await.unwrap();
        },
    )
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    let mut req = courier::get(format!("http://{addr}/root")).unwrap();
    let mut res = req.response().await.unwrap();
    assert_eq!(res.headers().get_str("x-url").as_deref(), Some("/root"));
    assert_eq!(&res.read_body().await.unwrap()[..], b"hi");
    server.close();
}

#[cfg(feature = "blocking")]
#[test]
fn a_blocking_server_and_client_through_the_facade() {
    use courier::blocking::{create_server, get};

    let server = create_server(courier::ServerOptions::default(), |req, mut res| {
        let body = format!("blocking {}", req.url());
        res.end(Some(body.into())).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut req = get(format!("http://{addr}/x")).unwrap();
    let mut res = req.response().unwrap();
    assert_eq!(res.status_code(), 200);
    assert_eq!(&res.read_body().unwrap()[..], b"blocking /x");
    server.close();
}

#[cfg(feature = "async-std")]
#[test]
fn an_async_std_server_and_client_through_the_facade() {
    use courier::async_std::{create_server, get};

    smol::block_on(async {
        let server = create_server(
            courier::ServerOptions::default(),
            |req, mut res| async move {
                let body = format!("smol {}", req.url());
                res.end(Some(body.into())).await.unwrap();
            },
        )
        .unwrap();
        let addr = server.listen("127.0.0.1:0").await.unwrap();
        let mut req = get(format!("http://{addr}/x")).unwrap();
        let mut res = req.response().await.unwrap();
        assert_eq!(res.status_code(), 200);
        assert_eq!(&res.read_body().await.unwrap()[..], b"smol /x");
        server.close();
    });
}
