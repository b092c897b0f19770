//! Connection admission for the listeners (`http.md` §1): a bound on the connections one
//! client address may hold, a deadline for a fresh connection's first byte, and the accept
//! back-off when the process runs out of file descriptors.
//!
//! hyper's own header read timeout starts only once it reads a request head; the HTTP/1 vs
//! HTTP/2 sniffing of the auto builder before it waits without bound, so a socket that never
//! sends a byte would stay open forever. [`ReadDeadlines`] closes it after
//! [`FIRST_BYTE_TIMEOUT`].

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Time a fresh connection (after the TLS handshake, if any) has to send its first byte; the
/// header read timeout of `http.md` §1.
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default of `max_connections_per_ip`: connections one client IP address may hold open at
/// once; further ones are closed at accept. Large enough for a load test or a NAT of browsers, small enough that one address
/// cannot take every file descriptor.
pub const MAX_CONNECTIONS_PER_ADDR: usize = 256;

/// Pause of the accept loop after `EMFILE`/`ENFILE`/`ENOBUFS`/`ENOMEM`, so that it does not
/// spin while no descriptor is free.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Whether an accept error means the process or system ran out of a resource (descriptors,
/// buffers, memory) and retrying at once would spin.
pub fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Counts open connections per client IP address.
#[derive(Clone, Default)]
pub struct PerAddrLimit {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max: usize,
}

impl PerAddrLimit {
    /// A limit of `max` connections per address.
    pub fn new(max: usize) -> Self {
        Self {
            counts: Arc::default(),
            max,
        }
    }

    /// A slot for one more connection from `ip`, or `None` when it already holds `max`.
    /// The slot is released when the returned guard drops.
    pub fn acquire(&self, ip: IpAddr) -> Option<AddrSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddrSlot {
            limit: self.clone(),
            ip,
        })
    }
}

/// One connection's slot in a [`PerAddrLimit`].
pub struct AddrSlot {
    limit: PerAddrLimit,
    ip: IpAddr,
}

impl Drop for AddrSlot {
    fn drop(&mut self) {
        let mut counts = self.limit.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Longest a keep-alive connection may sit idle between a response and the next request
/// (`http.md` §1).
pub const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(60);

/// Where a connection is between requests, as seen from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the first byte of a request (fresh connection or after a response).
    Idle,
    /// Inside a request head: the blank line that ends it has not been read yet.
    Head,
    /// Head complete; the request body and the handler run without a read deadline (bodies
    /// have their own, [`crate::server::limit`]).
    Busy,
    /// HTTP/2 or an upgraded (WebSocket) connection: no deadline here.
    Transparent,
}

/// The read deadlines of one HTTP/1 connection, enforced on its bytes (plain TCP, or the
/// decrypted side of TLS): the first byte within [`FIRST_BYTE_TIMEOUT`], a request head
/// within [`FIRST_BYTE_TIMEOUT`] of its first byte, and after each response the next request
/// within [`KEEP_ALIVE_IDLE`]. A read past a deadline fails with `TimedOut`, which makes
/// hyper close the connection. An HTTP/2 preface or a `101` response turns the deadlines off.
/// One timer per connection, re-armed in place.
///
/// hyper's own `header_read_timeout` cannot express this: it starts when hyper waits for a
/// head, so it is also the keep-alive idle time, and the auto builder's HTTP/1-vs-2 sniffing
/// before it has no timeout at all.
pub struct ReadDeadlines<T> {
    inner: T,
    phase: Phase,
    /// The last 3 bytes of the head read so far, to find a `\r\n\r\n` split across reads.
    tail: [u8; 3],
    deadline: Pin<Box<tokio::time::Sleep>>,
    keep_alive: Duration,
    head_timeout: Duration,
}

impl<T> ReadDeadlines<T> {
    /// Wrap `inner`; the first byte must arrive within `timeout`, a head within `timeout` of
    /// its first byte, and the next request within [`KEEP_ALIVE_IDLE`] of a response.
    pub fn new(inner: T, timeout: Duration) -> Self {
        Self::with_keep_alive(inner, timeout, KEEP_ALIVE_IDLE)
    }

    /// [`ReadDeadlines::new`] with an explicit keep-alive idle time.
    pub fn with_keep_alive(inner: T, timeout: Duration, keep_alive: Duration) -> Self {
        Self {
            inner,
            phase: Phase::Idle,
            tail: [0; 3],
            deadline: Box::pin(tokio::time::sleep(timeout)),
            keep_alive,
            head_timeout: timeout,
        }
    }

    /// Account for `bytes` just read.
    fn on_read(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.phase == Phase::Idle {
            if bytes.starts_with(b"PRI ") {
                self.phase = Phase::Transparent;
                return;
            }
            self.phase = Phase::Head;
            self.tail = [0; 3];
            let until = tokio::time::Instant::now() + self.head_timeout;
            self.deadline.as_mut().reset(until);
        }
        if self.phase == Phase::Head {
            // The blank line may straddle the previous read: check the 3 + 3 bytes around
            // the seam, then the new bytes themselves. No allocation.
            let mut seam = [0u8; 6];
            seam[..3].copy_from_slice(&self.tail);
            let k = bytes.len().min(3);
            seam[3..3 + k].copy_from_slice(&bytes[..k]);
            let found = memchr::memmem::find(&seam[..3 + k], b"\r\n\r\n").is_some()
                || memchr::memmem::find(bytes, b"\r\n\r\n").is_some();
            if found {
                self.phase = Phase::Busy;
            } else if bytes.len() >= 3 {
                self.tail.copy_from_slice(&bytes[bytes.len() - 3..]);
            } else {
                let keep = 3 - bytes.len();
                self.tail.copy_within(3 - keep.., 0);
                self.tail[keep..].copy_from_slice(bytes);
            }
        }
    }

    /// Account for `bytes` just written: a response head starts the keep-alive idle time,
    /// except `100 Continue` (the body follows) and `101` (the connection is upgraded).
    fn on_write(&mut self, bytes: &[u8]) {
        if self.phase == Phase::Transparent || !bytes.starts_with(b"HTTP/1.") {
            return;
        }
        let status = bytes.get(9..12).unwrap_or(b"");
        if status == b"101" {
            self.phase = Phase::Transparent;
        } else if status.first() != Some(&b'1') {
            self.phase = Phase::Idle;
            let until = tokio::time::Instant::now() + self.keep_alive;
            self.deadline.as_mut().reset(until);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadDeadlines<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if matches!(this.phase, Phase::Idle | Phase::Head) {
                    this.on_read(&buf.filled()[before..]);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let timed = matches!(this.phase, Phase::Idle | Phase::Head);
                if timed && this.deadline.as_mut().poll(cx).is_ready() {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no request within the header read or keep-alive timeout",
                    )))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ReadDeadlines<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            let n = *n;
            self.on_write(&buf[..n]);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &r
            && *n > 0
            && let Some(first) = bufs.iter().find(|b| !b.is_empty())
        {
            let take = first.len().min(*n).min(12);
            let mut head = [0u8; 12];
            head[..take].copy_from_slice(&first[..take]);
            self.on_write(&head[..take]);
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn per_address_slots_are_bounded_and_released() {
        let limit = PerAddrLimit::new(2);
        let a = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let s1 = limit.acquire(a).unwrap();
        let _s2 = limit.acquire(a).unwrap();
        assert!(limit.acquire(a).is_none());
        assert!(limit.acquire(b).is_some());
        drop(s1);
        assert!(limit.acquire(a).is_some());
    }

    #[tokio::test]
    async fn first_byte_and_head_deadlines() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, server) = tokio::io::duplex(64);
        let mut silent = ReadDeadlines::new(server, Duration::from_millis(50));
        let mut buf = [0u8; 4];
        let err = silent.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(client);

        let (mut client, server) = tokio::io::duplex(64);
        let mut talking = ReadDeadlines::new(server, Duration::from_millis(50));
        client.write_all(b"GET").await.unwrap();
        assert_eq!(talking.read(&mut buf).await.unwrap(), 3);
        // A head that never ends times out…
        tokio::time::sleep(Duration::from_millis(80)).await;
        let err = talking.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn head_then_keep_alive_idle_then_upgrade() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(256);
        let mut conn = ReadDeadlines::with_keep_alive(
            server,
            Duration::from_millis(50),
            Duration::from_millis(200),
        );
        let mut buf = [0u8; 64];
        // A head split across writes, the blank line straddling them.
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r")
            .await
            .unwrap();
        assert!(conn.read(&mut buf).await.unwrap() > 0);
        client.write_all(b"\n").await.unwrap();
        assert!(conn.read(&mut buf).await.unwrap() > 0);
        assert_eq!(conn.phase, Phase::Busy);
        // Busy: no deadline while the handler runs.
        tokio::time::sleep(Duration::from_millis(80)).await;
        conn.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        assert_eq!(conn.phase, Phase::Idle);
        // Keep-alive idle is longer than the head timeout.
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.write_all(b"GET /ws HTTP/1.1\r\n\r\n").await.unwrap();
        assert!(conn.read(&mut buf).await.unwrap() > 0);
        conn.write_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(conn.phase, Phase::Transparent);
        // An upgraded connection has no deadline.
        tokio::time::sleep(Duration::from_millis(250)).await;
        client.write_all(b"x").await.unwrap();
        assert_eq!(conn.read(&mut buf).await.unwrap(), 1);
        // After a plain response, idling past keep-alive ends the connection.
        let (_client, server) = tokio::io::duplex(256);
        let mut conn = ReadDeadlines::with_keep_alive(
            server,
            Duration::from_millis(50),
            Duration::from_millis(100),
        );
        conn.phase = Phase::Busy;
        conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
            .await
            .unwrap();
        let err = conn.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
