//! A TCP proxy between the wump processes and a server, switchable at run time between
//! passing traffic, cutting it and black-holing it.

use std::net::SocketAddr;

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::AbortHandle,
};

use crate::{Result, io};

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
    pub async fn start(upstream: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(io("binding the proxy"))?;
        let port = listener
            .local_addr()
            .map_err(io("binding the proxy"))?
            .port();
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
