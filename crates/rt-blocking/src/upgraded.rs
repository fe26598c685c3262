//! The socket handed to the application when it leaves HTTP.

use std::io;
use std::net::Shutdown;

use crate::io::Stream;
use courier_rt::serving::HandoverGuard;

courier_rt::handed_over_socket! {
/// A socket that left HTTP: the `socket` of Node's `'upgrade'`, `'connect'` and
/// `'clientError'` events, a blocking [`std::io::Read`] + [`std::io::Write`] stream.
///
/// Everything the server had to write before the handover was written first. Bytes
/// the server had already read after the request head are not in the stream: they
/// are the `head` argument of the event (SRV-8, SRV-9) or the error's
/// [`crate::ClientErrorEvent::raw_packet`].
///
/// It counts as one of the server's open connections ([`crate::Server::closed`] and
/// the `'close'` event wait for it) until it is dropped or [`Upgraded::into_inner`]
/// takes the stream out.
pub struct Upgraded(Stream, HandoverGuard);
}

impl Upgraded {
    pub(crate) fn handed_over(stream: Stream, open: HandoverGuard) -> Self {
        // The loop may have left a read timeout on the socket.
        let _ = stream.set_read_timeout(None);
        let _ = stream.set_write_timeout(None);
        let (remote, local) = (stream.peer_addr(), stream.local_addr());
        Self::new(stream, remote, local, open)
    }

    /// `socket.end()`: shuts the write side down.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.stream.shutdown(how)
    }
}

courier_rt::handed_over_io!(std, Upgraded);
