//! The wump processes of a run: started from the built binaries with settings in the
//! environment, logs to files, health waited for, signals sent, crashes counted.
//!
//! A crash is a process that exited without having been signalled by the harness.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::Mutex,
    time::Duration,
};

use nix::{sys::signal::Signal, unistd::Pid};

use crate::{Error, Result, eventually, io};

/// Where `wump-api` and `wump-worker` are.
#[derive(Debug, Clone)]
pub struct Bins {
    /// `wump-api`.
    pub api: PathBuf,
    /// `wump-worker`.
    pub worker: PathBuf,
}

impl Bins {
    /// The binaries in `dir` (e.g. `target/release`); fails, saying how to build them, when
    /// one is missing.
    pub fn in_dir(dir: &Path) -> Result<Self> {
        let bins = Self {
            api: dir.join("wump-api"),
            worker: dir.join("wump-worker"),
        };
        for bin in [&bins.api, &bins.worker] {
            if !bin.is_file() {
                return Err(Error::Setup(format!(
                    "{} is missing: build the binaries first (`cargo build --workspace --bins --locked`, \
                     or with --release for target/release)",
                    bin.display()
                )));
            }
        }
        Ok(bins)
    }

    /// The debug binaries of the target directory this test executable was built into
    /// (`target/debug/deps/<test>` → `target/debug/`).
    pub fn next_to_test_executable() -> Result<Self> {
        let exe = std::env::current_exe().map_err(io("locating the test executable"))?;
        let dir = exe
            .parent()
            .and_then(|deps| {
                if deps.ends_with("deps") {
                    deps.parent()
                } else {
                    Some(deps)
                }
            })
            .ok_or_else(|| Error::Setup(format!("no target directory above {}", exe.display())))?;
        Self::in_dir(dir)
    }
}

/// Environment settings (`WUMP__SECTION__KEY`, `RUST_LOG`, …) passed to every process.
pub type Env = Vec<(String, String)>;

/// One started process.
#[derive(Debug)]
pub struct Process {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    env: Env,
    log: PathBuf,
    health: Option<String>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    child: Child,
    /// The harness sent a signal to the current child: its exit is not a crash.
    signalled: bool,
    /// Children that exited by themselves (counted when noticed).
    crashes: u32,
    /// Exit statuses of those crashes, for the report.
    crash_statuses: Vec<String>,
}

impl Process {
    /// Starts `program args` with `env`, stdout and stderr appended to `log`; `health` is the
    /// URL answering 200 once it serves (none for one-shot commands).
    pub fn spawn(
        name: impl Into<String>,
        program: &Path,
        args: &[&str],
        env: &Env,
        log: &Path,
        health: Option<String>,
    ) -> Result<Self> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let child = start(program, &args, env, log)?;
        Ok(Self {
            name: name.into(),
            program: program.to_owned(),
            args,
            env: env.clone(),
            log: log.to_owned(),
            health,
            state: Mutex::new(State {
                child,
                signalled: false,
                crashes: 0,
                crash_statuses: Vec::new(),
            }),
        })
    }

    /// The name given at start (`api-1`, `worker-2`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The current child's process id.
    pub fn pid(&self) -> u32 {
        self.state.lock().expect("process state").child.id()
    }

    /// Waits until the health URL answers 200 (fails at once if the process exits).
    pub async fn wait_healthy(&self, client: &reqwest::Client, deadline: Duration) -> Result<()> {
        let Some(url) = self.health.clone() else {
            return Ok(());
        };
        let what = format!("{} to answer {url}", self.name);
        eventually(&what, deadline, || async {
            if self.exited().is_some() {
                return Some(Err(Error::Setup(format!(
                    "{} exited while starting (log: {})",
                    self.name,
                    self.log.display()
                ))));
            }
            let ok = client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            ok.then_some(Ok(()))
        })
        .await?
    }

    /// Sends `signal` (SIGKILL, SIGTERM, …); the exit that follows is not a crash.
    pub fn signal(&self, signal: Signal) -> Result<()> {
        let mut state = self.state.lock().expect("process state");
        self.notice(&mut state);
        state.signalled = true;
        let pid = Pid::from_raw(state.child.id() as i32);
        match nix::sys::signal::kill(pid, signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(Error::Setup(format!("kill -{signal} {}: {e}", self.name))),
        }
    }

    /// SIGKILL and wait for the exit.
    pub fn kill(&self) -> Result<()> {
        self.signal(Signal::SIGKILL)?;
        self.wait_exit(Duration::from_secs(10)).map(|_| ())
    }

    /// SIGTERM and wait up to `grace` for the exit (then SIGKILL); returns the status.
    pub fn terminate(&self, grace: Duration) -> Result<ExitStatus> {
        self.signal(Signal::SIGTERM)?;
        match self.wait_exit(grace) {
            Ok(status) => Ok(status),
            Err(_) => {
                self.signal(Signal::SIGKILL)?;
                self.wait_exit(Duration::from_secs(10))
            }
        }
    }

    fn wait_exit(&self, deadline: Duration) -> Result<ExitStatus> {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return Ok(status);
            }
            if start.elapsed() > deadline {
                return Err(Error::Timeout(deadline, format!("{} to exit", self.name)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the process again with the same command and settings (after a kill or crash).
    pub fn restart(&self) -> Result<()> {
        let mut state = self.state.lock().expect("process state");
        self.notice(&mut state);
        if state.child.try_wait().ok().flatten().is_none() {
            return Err(Error::Setup(format!("{} is still running", self.name)));
        }
        state.child = start(&self.program, &self.args, &self.env, &self.log)?;
        state.signalled = false;
        Ok(())
    }

    /// The exit status if the current child has exited.
    pub fn exited(&self) -> Option<ExitStatus> {
        let mut state = self.state.lock().expect("process state");
        self.notice(&mut state);
        state.child.try_wait().ok().flatten()
    }

    /// Times this process exited without being signalled (including now).
    pub fn crashes(&self) -> u32 {
        let mut state = self.state.lock().expect("process state");
        self.notice(&mut state);
        state.crashes
    }

    /// The exit statuses of those crashes.
    pub fn crash_statuses(&self) -> Vec<String> {
        self.state
            .lock()
            .expect("process state")
            .crash_statuses
            .clone()
    }

    /// Counts an unsignalled exit once.
    fn notice(&self, state: &mut State) {
        if state.signalled {
            return;
        }
        if let Ok(Some(status)) = state.child.try_wait() {
            state.crashes += 1;
            state
                .crash_statuses
                .push(format!("{}: {status}", self.name));
            // Counted: treat it as handled so it is not counted again.
            state.signalled = true;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(mut state) = self.state.lock() {
            let _ = state.child.kill();
            let _ = state.child.wait();
        }
    }
}

fn start(program: &Path, args: &[String], env: &Env, log: &Path) -> Result<Child> {
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io(format!("opening {}", log.display())))?;
    let err = out.try_clone().map_err(io("cloning the log handle"))?;
    Command::new(program)
        .args(args)
        // Only the run's settings: nothing of the caller's WUMP__* leaks in.
        .env_clear()
        .current_dir(crate::workspace_root())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(io(format!("starting {}", program.display())))
}

/// Runs a one-shot command (`wump-api migrate`, `wump-worker enqueue …`) and returns its
/// stdout; fails with its stderr unless it exits 0.
pub async fn run_command(program: &Path, args: &[&str], env: &Env) -> Result<String> {
    let output = tokio::process::Command::new(program)
        .args(args)
        .env_clear()
        .current_dir(crate::workspace_root())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(io(format!("running {}", program.display())))?;
    if !output.status.success() {
        return Err(Error::Setup(format!(
            "{} {} failed ({}): {}",
            program.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
