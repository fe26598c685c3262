//! The whole of [`ClientAdapter::exchange`](crate::client::ClientAdapter::exchange) for
//! an async adapter, written once: tokio's and async-std's clients are the same
//! `courier_rt::client::ClientRequest` behind a different `request()`, so their
//! adapters pass that function and a sleep of their runtime.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use std::time::Duration;

use courier_rt::client::{
    ClientError, ClientOptions, ClientOptionsError, ClientRequest, ClientUpgrade, RequestEvent,
};

use crate::client::{
    Exchange, Outcome, body_read, end_request, event_name, fill_to_high_water, prepare,
    response_views,
};

fn failed(out: &mut Outcome, e: &ClientError) {
    out.error = Some(e.code().to_owned());
    out.message = e.to_string();
}

async fn drain_events(req: &mut ClientRequest, out: &mut Outcome) {
    while let Some(e) = req.next_event().await {
        out.events.push(event_name(&e));
    }
}

/// Runs the adapter's `request()` on `x`'s options (taken), or gives the outcome of a
/// refusal.
pub fn begin(
    x: &mut Exchange,
    request: impl FnOnce(ClientOptions) -> Result<ClientRequest, ClientOptionsError>,
) -> Result<ClientRequest, Box<Outcome>> {
    request(std::mem::take(&mut x.options)).map_err(|e| {
        Box::new(Outcome {
            error: Some(e.code().to_owned()),
            message: e.to_string(),
            ..Outcome::default()
        })
    })
}

/// Waits for request events until `stop` says so (its event included).
async fn events_until(
    req: &mut ClientRequest,
    out: &mut Outcome,
    mut stop: impl FnMut(&RequestEvent) -> bool,
) -> Option<RequestEvent> {
    while let Some(e) = req.next_event().await {
        out.events.push(event_name(&e));
        if stop(&e) {
            return Some(e);
        }
    }
    None
}

/// Writes `send` on the upgraded socket, then reads `n` bytes back.
async fn upgraded_round_trip(up: &mut ClientUpgrade, send: &[u8], n: usize) -> Vec<u8> {
    let mut sent = 0;
    while sent < send.len() {
        let k = core::future::poll_fn(|cx| up.poll_write(cx, &send[sent..]))
            .await
            .expect("write on the upgraded socket");
        assert!(k > 0, "the upgraded socket took nothing");
        sent += k;
    }
    let mut back = vec![0u8; n];
    let mut got = 0;
    while got < n {
        let k = core::future::poll_fn(|cx| up.poll_read_slice(cx, &mut back[got..]))
            .await
            .expect("read on the upgraded socket");
        assert!(k > 0, "EOF on the upgraded socket after {got} bytes");
        got += k;
    }
    back
}

/// Carries out `x` on the request [`begin`] made; `sleep` is the runtime's timer.
pub async fn carry_out<F: Future<Output = ()>>(
    begun: Result<ClientRequest, Box<Outcome>>,
    x: Exchange,
    sleep: impl Fn(Duration) -> F,
) -> Outcome {
    let mut out = Outcome::default();
    let mut req = match begun {
        Ok(req) => req,
        Err(out) => return *out,
    };
    if x.abort_at_once || x.abort_after_socket {
        if x.abort_after_socket {
            events_until(&mut req, &mut out, |e| *e == RequestEvent::Socket).await;
        }
        req.abort();
        if let Err(e) = req.response().await {
            failed(&mut out, &e);
        }
        drain_events(&mut req, &mut out).await;
        return out;
    }
    prepare(&mut req, &x, &mut out);
    if x.wait_for_continue {
        req.flush_headers().unwrap();
        events_until(&mut req, &mut out, |e| *e == RequestEvent::Continue).await;
    }
    if let Some(pause) = x.pause_before_writes {
        sleep(pause).await;
    }
    if let Some(piece) = &x.fill {
        out.queued = fill_to_high_water(&mut req, piece);
        let start = std::time::Instant::now();
        req.drained().await;
        out.drain_waited = start.elapsed();
    }
    for chunk in &x.writes {
        req.write(chunk.clone()).await.unwrap();
    }
    end_request(&mut req, &x, &mut out);
    if let Some(t) = x.set_timeout_after_finish
        && events_until(&mut req, &mut out, |e| *e == RequestEvent::Finish)
            .await
            .is_some()
    {
        req.set_timeout(Some(t));
    }
    if x.destroy_on_timeout
        && events_until(&mut req, &mut out, |e| *e == RequestEvent::Timeout)
            .await
            .is_some()
    {
        req.destroy();
    }
    if (x.abort_after_finish || x.destroy_after_finish)
        && events_until(&mut req, &mut out, |e| *e == RequestEvent::Finish)
            .await
            .is_some()
    {
        if x.abort_after_finish {
            req.abort();
        } else {
            req.destroy();
        }
    }
    if let Some((send, n)) = x.upgrade {
        match req.upgrade().await {
            Ok(mut up) => {
                out.status = up.status_code();
                out.body = upgraded_round_trip(&mut up, &send, n).await.into();
            }
            Err(e) => failed(&mut out, &e),
        }
        return out;
    }
    match req.response().await {
        Ok(mut res) => {
            if let Some(pause) = x.pause_before_body {
                sleep(pause).await;
            }
            response_views(&res, &mut out);
            let mut first = Bytes::new();
            if x.abort_during_body {
                if let Some(Ok(chunk)) = res.chunk().await {
                    first = chunk;
                }
                req.abort();
            }
            let rest = res.read_body().await;
            body_read(&res, first, rest, &mut out);
        }
        Err(e) => failed(&mut out, &e),
    }
    out.reused_socket = req.reused_socket();
    drain_events(&mut req, &mut out).await;
    out
}

/// One whole exchange: [`begin`] with the adapter's `request`, then [`carry_out`].
pub async fn exchange<F: Future<Output = ()>>(
    mut x: Exchange,
    request: impl FnOnce(ClientOptions) -> Result<ClientRequest, ClientOptionsError>,
    sleep: impl Fn(Duration) -> F,
) -> Outcome {
    let begun = begin(&mut x, request);
    carry_out(begun, x, sleep).await
}

/// Several exchanges at once: every `request()` first, so that all of them are made
/// before any answer, then each one carried out on a task of the runtime's `spawn`,
/// whose handle gives the outcome.
pub async fn exchange_all<F, S, H>(
    xs: Vec<Exchange>,
    request: impl Fn(ClientOptions) -> Result<ClientRequest, ClientOptionsError>,
    sleep: S,
    spawn: impl Fn(Pin<Box<dyn Future<Output = Outcome> + Send>>) -> H,
) -> Vec<Outcome>
where
    F: Future<Output = ()> + Send + 'static,
    S: Fn(Duration) -> F + Clone + Send + Sync + 'static,
    H: Future<Output = Outcome>,
{
    let begun: Vec<_> = xs
        .into_iter()
        .map(|mut x| (begin(&mut x, &request), x))
        .collect();
    let tasks: Vec<H> = begun
        .into_iter()
        .map(|(b, x)| spawn(Box::pin(carry_out(b, x, sleep.clone()))))
        .collect();
    let mut outs = Vec::with_capacity(tasks.len());
    for t in tasks {
        outs.push(t.await);
    }
    outs
}
