//! The suite's application on an async adapter's server, written once: tokio's and
//! async-std's servers hand the same `courier_rt` `IncomingMessage` and
//! `ServerResponse` to their listeners, so their test crates only register these.

use std::future::Future;
use std::time::Duration;

use courier_rt::{IncomingMessage, ServerResponse};

use crate::app::{self, Reply, Request};

fn pairs(h: &courier_proto::NodeHeaders) -> Vec<(String, String)> {
    h.iter()
        .map(|(n, _)| (n.to_owned(), h.get_str(n).unwrap_or_default()))
        .collect()
}

/// What the suite's app sees of `req`, its body read whole.
pub async fn request_of(req: &mut IncomingMessage) -> Request {
    let body = req.read_body().await.unwrap_or_default();
    Request {
        method: req.method().to_owned(),
        url: req.url().into_owned(),
        headers: pairs(req.headers()),
        body,
        trailers: req.trailers().as_ref().map(pairs).unwrap_or_default(),
    }
}

/// Carries out the app's reply on `res` (see [`app`]'s module docs).
pub async fn perform(reply: Reply, mut res: ServerResponse) {
    assert!(!reply.panic, "the suite app's /panic");
    res.set_status_code(reply.status).unwrap();
    for (name, value) in reply.headers {
        res.set_header(name, value).unwrap();
    }
    for chunk in reply.writes {
        res.write(chunk).await.unwrap();
    }
    if reply.drop_unended {
        return;
    }
    if !reply.trailers.is_empty() {
        let trailers: Vec<_> = reply
            .trailers
            .iter()
            .map(|(n, v)| (*n, v.as_str().into()))
            .collect();
        res.add_trailers(trailers).unwrap();
    }
    res.end(reply.end).await.unwrap();
}

/// The `'request'` (and `'checkExpectation'`) listener: waits [`app::read_delay`]
/// with the runtime's `sleep`, reads the body, answers with [`app::reply`].
pub async fn handle<F: Future<Output = ()>>(
    mut req: IncomingMessage,
    res: ServerResponse,
    sleep: impl FnOnce(Duration) -> F,
) {
    let pause = app::read_delay(&req.url());
    if !pause.is_zero() {
        sleep(pause).await;
    }
    let r = request_of(&mut req).await;
    perform(app::reply(&r), res).await;
}

/// The `'checkContinue'` listener: [`app::check_continue`] decides between
/// `write_continue()` then the body, and an answer at once.
pub async fn check_continue(mut req: IncomingMessage, mut res: ServerResponse) {
    let head_only = Request {
        url: req.url().into_owned(),
        ..Request::default()
    };
    if app::check_continue(&head_only) {
        res.write_continue().unwrap();
        let r = request_of(&mut req).await;
        perform(app::reply(&r), res).await;
    } else {
        perform(app::reply(&head_only), res).await;
    }
}
