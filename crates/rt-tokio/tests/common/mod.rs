//! Raw tokio-socket helpers of the tokio adapter's own tests (paused-clock and
//! tokio-type tests the shared suite's `std::net` client cannot drive).
#![allow(dead_code, unreachable_pub)]

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Reads one whole response, framed as `courier_suite::wire::response_len` frames it.
pub async fn read_response<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> String {
    loop {
        if let Some(end) = courier_suite::wire::response_len(buf, false) {
            let resp: Vec<u8> = buf.drain(..end).collect();
            return String::from_utf8_lossy(&resp).into_owned();
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "EOF before a whole response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads exactly `n` bytes.
pub async fn read_n<S: AsyncRead + Unpin>(s: &mut S, n: usize) -> String {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

/// Everything until the peer closes (a reset counts as the end).
pub async fn read_all<S: AsyncRead + Unpin>(s: &mut S) -> String {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all).await;
    String::from_utf8_lossy(&all).into_owned()
}

/// Writes `bytes`.
pub async fn send<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) {
    s.write_all(bytes).await.unwrap();
}
