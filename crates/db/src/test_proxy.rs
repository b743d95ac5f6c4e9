//! A TCP proxy between wump and a server, switchable at run time between passing traffic,
//! cutting it, black-holing it and holding it: tests take PostgreSQL or Valkey away this way
//! without stopping the shared servers, and the chaos runs black-hole their own.

use std::{io, net::SocketAddr};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{
        TcpListener, TcpStream,
        tcp::{ReadHalf, WriteHalf},
    },
    sync::watch,
    task::AbortHandle,
};

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Close open connections; close new ones at once (the server looks down).
    Cut,
    /// Accept connections and never answer; open ones stall (a dropped route, a hung host).
    /// Leaving this mode closes the stalled connections, as their peers would time them out.
    BlackHole,
    /// Accept connections and forward nothing, but keep what either side sent: back in
    /// [`Mode::Pass`] it all goes through on the same connections (a route that drops out
    /// and returns before either side gives up). A client that must not reuse a connection
    /// it gave up on gets the stale reply then, so a test can tell.
    Hold,
}

/// Listens on a free local port and forwards to `upstream` as the current [`Mode`] says.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    mode: watch::Sender<Mode>,
    accept: AbortHandle,
}

impl Proxy {
    /// Starts forwarding to `upstream` (in [`Mode::Pass`]).
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (mode, watching) = watch::channel(Mode::Pass);
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let _ = inbound.set_nodelay(true);
                tokio::spawn(connection(inbound, upstream, watching.clone()));
            }
        })
        .abort_handle();
        Ok(Self { port, mode, accept })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address clients connect to.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Switches every open and future connection to `mode`.
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        *self.mode.borrow()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.mode.send_replace(Mode::Cut);
    }
}

async fn connection(mut inbound: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let mut current = *mode.borrow_and_update();
    if current == Mode::Hold {
        // Not connected upstream yet: wait for the route to come back (or go away).
        match mode.wait_for(|m| *m != Mode::Hold).await {
            Ok(m) => current = *m,
            Err(_) => return,
        }
    }
    match current {
        Mode::Cut => return,
        Mode::BlackHole => {
            // Hold the connection unanswered until the mode changes.
            let _ = mode.wait_for(|m| *m != Mode::BlackHole).await;
            return;
        }
        Mode::Pass | Mode::Hold => {}
    }
    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = outbound.set_nodelay(true);
    let (mut from_client, mut to_client) = inbound.split();
    let (mut from_server, mut to_server) = outbound.split();
    let left = tokio::select! {
        left = pipe(&mut from_client, &mut to_server, mode.clone()) => left,
        left = pipe(&mut from_server, &mut to_client, mode.clone()) => left,
    };
    if left == Some(Mode::BlackHole) {
        // Both sockets stay open and unread: whatever either side sends is lost.
        let _ = mode.wait_for(|m| *m != Mode::BlackHole).await;
    }
}

/// Copies `from` to `to` until either closes or the mode turns to [`Mode::Cut`] or
/// [`Mode::BlackHole`] (returned); while [`Mode::Hold`], each chunk waits for the mode to
/// change before it is written.
async fn pipe(
    from: &mut ReadHalf<'_>,
    to: &mut WriteHalf<'_>,
    mut mode: watch::Receiver<Mode>,
) -> Option<Mode> {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return None,
                Ok(n) => n,
            },
            left = mode.wait_for(|m| matches!(m, Mode::Cut | Mode::BlackHole)) => {
                return left.ok().map(|m| *m);
            }
        };
        let now = *mode.wait_for(|m| *m != Mode::Hold).await.ok()?;
        if now != Mode::Pass {
            return Some(now);
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// An echo server; returns its address.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = socket.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        address
    }

    /// Sends `ping` and reads the echo: `Some(true)` echoed, `Some(false)` closed, `None`
    /// silence.
    async fn round_trip(stream: &mut TcpStream) -> Option<bool> {
        let _ = stream.write_all(b"ping").await;
        let mut reply = [0u8; 4];
        tokio::time::timeout(Duration::from_millis(300), stream.read_exact(&mut reply))
            .await
            .ok()
            .map(|read| read.is_ok() && &reply == b"ping")
    }

    #[tokio::test]
    async fn passes_cuts_black_holes_and_passes_again() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let connect = || TcpStream::connect(("127.0.0.1", proxy.port()));

        let mut open = connect().await.unwrap();
        assert_eq!(round_trip(&mut open).await, Some(true), "pass forwards");

        proxy.set(Mode::BlackHole);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            round_trip(&mut open).await.is_none(),
            "an open connection stalls"
        );
        let mut new = connect().await.expect("a black hole still accepts");
        assert!(
            round_trip(&mut new).await.is_none(),
            "a new connection is never answered"
        );

        proxy.set(Mode::Cut);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            round_trip(&mut open).await,
            Some(false),
            "cut closes open connections"
        );
        let mut refused = connect().await.unwrap();
        assert_eq!(
            round_trip(&mut refused).await,
            Some(false),
            "cut closes new ones"
        );

        proxy.set(Mode::Pass);
        let mut again = connect().await.unwrap();
        assert_eq!(
            round_trip(&mut again).await,
            Some(true),
            "pass forwards again"
        );
    }

    #[tokio::test]
    async fn hold_keeps_what_was_sent_and_delivers_it_on_pass() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let connect = || TcpStream::connect(("127.0.0.1", proxy.port()));
        let mut open = connect().await.unwrap();
        assert_eq!(round_trip(&mut open).await, Some(true));

        proxy.set(Mode::Hold);
        assert!(
            round_trip(&mut open).await.is_none(),
            "an open connection stalls"
        );
        let mut new = connect().await.expect("holding still accepts");
        assert!(
            round_trip(&mut new).await.is_none(),
            "a new one is held too"
        );

        proxy.set(Mode::Pass);
        for (stream, what) in [(&mut open, "open"), (&mut new, "new")] {
            let mut held = [0u8; 4];
            tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut held))
                .await
                .unwrap_or_else(|_| panic!("the {what} connection's held ping never came back"))
                .unwrap();
            assert_eq!(&held, b"ping", "{what}: the held bytes, not lost ones");
            assert_eq!(
                round_trip(stream).await,
                Some(true),
                "{what} forwards again"
            );
        }
    }
}
