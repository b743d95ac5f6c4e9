//! `wump-worker run` processes started from the release build for a benchmark: settings
//! in the environment, logs to files, health waited for, peak memory read before they stop.

use std::{
    fs::File,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use nix::{sys::signal::Signal, unistd::Pid};

/// Environment settings (`WUMP__SECTION__KEY`, `RUST_LOG`) for every worker of a run.
pub type Env = Vec<(String, String)>;

/// The release `wump-worker` next to this benchmark's executable (`target/release/`);
/// fails, saying how to build it, when it is missing.
pub fn worker_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating wump-bench")?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let worker = dir.join("wump-worker");
    if !worker.is_file() {
        bail!(
            "{} is missing: build it first (`cargo build --release -p wump-worker`)",
            worker.display()
        );
    }
    Ok(worker)
}

/// One running `wump-worker run --no-scheduler`; killed when dropped.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    health: String,
    log: PathBuf,
}

impl Worker {
    /// Starts `binary` with `env` plus its own health port, its output appended to `log`.
    pub fn start(binary: &Path, env: &Env, log: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(binary)
            .args(["run", "--no-scheduler"])
            // Only the run's settings: nothing of the caller's WUMP__* leaks in.
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("WUMP__WORKER__HEALTH_BIND", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Self {
            child,
            health: format!("127.0.0.1:{port}"),
            log: log.to_owned(),
        })
    }

    /// Waits until its `/health` answers (fails at once if it exits).
    pub async fn wait_healthy(&mut self, deadline: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "wump-worker exited while starting ({status}); log: {}",
                    self.log.display()
                );
            }
            if health_ok(&self.health).await {
                return Ok(());
            }
            if start.elapsed() > deadline {
                bail!(
                    "wump-worker did not answer /health within {deadline:?}; log: {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far (`VmHWM` of `/proc/<pid>/status`), in bytes.
    pub fn peak_rss(&self) -> anyhow::Result<u64> {
        peak_rss(self.pid())
    }

    /// Whether it has exited (a crash, since the benchmark never stops it before the end).
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_some()
    }

    /// CPU time it has used so far (seconds).
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid()).unwrap_or(0.0)
    }

    /// SIGTERM, then SIGKILL after `grace`; returns its peak resident memory, read just
    /// before the signal.
    pub fn stop(mut self, grace: Duration) -> anyhow::Result<u64> {
        let peak = self.peak_rss()?;
        let _ = nix::sys::signal::kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let start = Instant::now();
        while self.child.try_wait()?.is_none() {
            if start.elapsed() > grace {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(peak)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `VmHWM` of `/proc/<pid>/status`, in bytes.
pub fn peak_rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .context("no VmHWM in /proc/<pid>/status")?;
    Ok(kib * 1024)
}

/// CPU time (user + system) process `pid` has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

/// CPU time used so far by the PostgreSQL backends serving `database` on this machine
/// (`postgres: <user> <database> …` processes), in seconds.
pub fn postgres_cpu_seconds(database: &str) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.starts_with("postgres: ") && c.split_whitespace().nth(2) == Some(database)
            })
        })
        .filter_map(cpu_seconds)
        .sum()
}

/// A port nobody listens on right now.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `GET /health` answered 200 (a bare HTTP/1.1 request: no client needed for one line).
async fn health_ok(address: &str) -> bool {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(head.ends_with(b"200"))
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// MiB, for reports.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}
