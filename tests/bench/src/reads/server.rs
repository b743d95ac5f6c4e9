//! The release `wump-api` as a child process serving one bench database with its response
//! cache off, so every request reads PostgreSQL; and its peak resident memory.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use nix::{sys::signal::Signal, unistd::Pid};

/// A running `wump-api serve`.
#[derive(Debug)]
pub struct Api {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Api {
    /// Starts `binary` against `database_url` and `valkey_url` on a free port and waits
    /// until `/health` answers.
    pub async fn start(binary: &Path, database_url: &str, valkey_url: &str) -> anyhow::Result<Api> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(binary)
            .arg("serve")
            .env("WUMP__DATABASE__URL", database_url)
            .env("WUMP__VALKEY__URL", valkey_url)
            .env("WUMP__API__BIND", format!("127.0.0.1:{port}"))
            // One HTTP worker: the requests are sequential, and the peak memory is that of
            // the smallest deployment.
            .env("WUMP__API__WORKERS", "1")
            // The subject: uncached reads. Every request goes to PostgreSQL.
            .env("WUMP__API__CACHE__ENABLED", "false")
            // Every request is the same anonymous caller: a limit that never refuses.
            .env("WUMP__API__RATE_LIMITS__ANONYMOUS__PER_MINUTE", "0")
            .env("WUMP__TELEMETRY__LOG_FILTER", "warn")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let api = Api {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        api.wait_healthy().await?;
        Ok(api)
    }

    async fn wait_healthy(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        // Migrations run at start (a bench database made before a new migration gets it
        // here), which can take minutes on ten million edges.
        let deadline = Instant::now() + Duration::from_secs(900);
        while Instant::now() < deadline {
            if let Ok(response) = client.get(format!("{}/health", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        anyhow::bail!("wump-api did not answer /health at {}", self.base)
    }

    /// The most memory the process has had resident so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> anyhow::Result<u64> {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .context("no VmHWM in /proc/PID/status")?;
        Ok(kib * 1024)
    }

    /// SIGTERM, then waits for it to exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.signal(Signal::SIGTERM)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::ensure!(status.success(), "wump-api exited with {status}");
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "wump-api did not stop within 60 s of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let pid = Pid::from_raw(i32::try_from(self.child.id())?);
        match nix::sys::signal::kill(pid, signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}

impl Drop for Api {
    /// A run that failed half-way leaves no api behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
