//! A TCP proxy that a test can cut and restore: the API talks to PostgreSQL or Valkey
//! through it, so a test can take a dependency away without stopping the shared server.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    task::AbortHandle,
};

/// Forwards connections to `upstream` while up; while cut, refuses new connections (closes
/// them at once) and has dropped every open one; while black-holed, accepts connections and
/// reads what they send but forwards and answers nothing, on new and open ones alike.
#[derive(Debug)]
pub(crate) struct TcpProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    accept: AbortHandle,
}

#[derive(Debug, Default)]
struct Shared {
    cut: AtomicBool,
    black_hole: AtomicBool,
    connections: Mutex<Vec<AbortHandle>>,
}

impl TcpProxy {
    /// Listens on a free local port and forwards to `upstream`.
    pub(crate) async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accept = {
            let shared = shared.clone();
            tokio::spawn(async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    if shared.cut.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let task = tokio::spawn(forward(inbound, upstream, shared.clone()));
                    let mut connections = shared.connections.lock().unwrap();
                    connections.retain(|c| !c.is_finished());
                    connections.push(task.abort_handle());
                }
            })
            .abort_handle()
        };
        Self {
            address,
            shared,
            accept,
        }
    }

    /// Where clients connect.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// Drops every open connection and refuses new ones until [`Self::restore`].
    pub(crate) fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        for connection in self.shared.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    /// Forwards new connections again, and what open ones sent while black-holed.
    pub(crate) fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
        self.shared.black_hole.store(false, Ordering::SeqCst);
    }

    /// Keeps every connection open and answers nothing until [`Self::restore`]: a server
    /// that is reachable and never replies.
    pub(crate) fn black_hole(&self) {
        self.shared.black_hole.store(true, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn forward(inbound: TcpStream, upstream: SocketAddr, shared: Arc<Shared>) {
    while shared.black_hole.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let Ok(outbound) = TcpStream::connect(upstream).await else {
        return;
    };
    let (from_client, to_client) = inbound.into_split();
    let (from_server, to_server) = outbound.into_split();
    tokio::select! {
        () = pipe(from_client, to_server, &shared) => {}
        () = pipe(from_server, to_client, &shared) => {}
    }
}

/// Copies `from` to `to`, holding each chunk while the proxy is black-holed.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, shared: &Shared) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while shared.black_hole.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
