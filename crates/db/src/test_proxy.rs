//! A TCP proxy between wump and a server, switchable at run time between passing traffic,
//! cutting it and black-holing it: tests take PostgreSQL or Valkey away this way without
//! stopping the shared servers, and the chaos runs black-hole their own.

use std::{io, net::SocketAddr};

use tokio::{
    net::{TcpListener, TcpStream},
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
    let current = *mode.borrow_and_update();
    match current {
        Mode::Cut => return,
        Mode::BlackHole => {
            // Hold the connection unanswered until the mode changes.
            let _ = mode.wait_for(|m| *m != Mode::BlackHole).await;
            return;
        }
        Mode::Pass => {}
    }
    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = outbound.set_nodelay(true);
    let left = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => None,
        changed = mode.wait_for(|m| *m != Mode::Pass) => changed.ok().map(|m| *m),
    };
    if left == Some(Mode::BlackHole) {
        // Both sockets stay open and unread: whatever either side sends is lost.
        let _ = mode.wait_for(|m| *m != Mode::BlackHole).await;
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
}
