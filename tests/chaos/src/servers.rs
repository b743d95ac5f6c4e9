//! Dedicated PostgreSQL and Valkey servers for one run: free ports, data under the run's
//! directory, never the shared development servers. Each can be killed and started again.
//!
//! The binaries are the ones `scripts/services.sh` would use (`services.sh bin postgres|valkey`).
//! PostgreSQL refuses to run as root, so as root it runs as the `postgres` user, as there.
//! `initdb` runs once per machine into `<work>/pg-template`; each run copies that.

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::Duration,
};

use crate::{Error, Result, free_port, io, workspace_root};

/// The user PostgreSQL runs as when we are root.
const PG_USER: &str = "postgres";

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Runs `program args` (as `postgres` when root) and fails with its output unless it succeeds.
fn run(program: &Path, args: &[&str], as_pg: bool) -> Result<String> {
    let mut command = if as_pg && is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", PG_USER, "--"]).arg(program);
        c.current_dir("/");
        c
    } else {
        Command::new(program)
    };
    let output = command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("running {}", program.display())))?;
    if !output.status.success() {
        return Err(Error::Setup(format!(
            "{} {} failed ({}): {}{}",
            program.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `scripts/services.sh bin WHAT`: where the server binaries are (installing them if missing).
pub fn service_binary(what: &str) -> Result<PathBuf> {
    let script = workspace_root().join("scripts/services.sh");
    run(&script, &["bin", what], false).map(PathBuf::from)
}

/// Gives `path` to the `postgres` user when we are root (a no-op otherwise).
fn give_to_pg(path: &Path) -> Result<()> {
    if is_root() {
        run(
            Path::new("chown"),
            &["-R", &format!("{PG_USER}:"), &path.to_string_lossy()],
            false,
        )?;
    }
    Ok(())
}

/// Lets other users (`postgres`) reach files under `dir` and its parents.
fn traversable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mut current = Some(dir);
    while let Some(d) = current {
        if let Ok(meta) = std::fs::metadata(d) {
            let mode = meta.permissions().mode();
            if mode & 0o001 == 0 {
                let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode | 0o011));
            }
        }
        current = d.parent();
    }
}

/// A PostgreSQL server of this run: superuser `wump` (trust on 127.0.0.1), database `wump`.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
}

impl Postgres {
    /// Copies the template cluster (made once under `work`) to `dir/postgres`, starts it on
    /// a free port and creates the `wump` database.
    pub fn start(work: &Path, dir: &Path) -> Result<Self> {
        let bin = service_binary("postgres")?;
        let template = Self::template(&bin, work)?;
        let data = dir.join("postgres");
        traversable(dir);
        let status = Command::new("cp")
            .arg("-a")
            .arg(&template)
            .arg(&data)
            .status()
            .map_err(io("copying the template cluster"))?;
        if !status.success() {
            return Err(Error::Setup(format!("cp -a {} failed", template.display())));
        }
        let log = dir.join("postgres.log");
        std::fs::File::create(&log).map_err(io("creating postgres.log"))?;
        give_to_pg(&log)?;
        give_to_pg(&data)?;
        let pg = Self {
            bin,
            data,
            log,
            port: free_port()?,
        };
        pg.start_again()?;
        run(
            &pg.bin.join("psql"),
            &[
                "-X",
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port.to_string(),
                "-U",
                "wump",
                "-d",
                "postgres",
                "-c",
                "CREATE DATABASE wump",
            ],
            false,
        )?;
        Ok(pg)
    }

    /// `initdb` once into `work/pg-template-<major>` (renamed into place when complete).
    fn template(bin: &Path, work: &Path) -> Result<PathBuf> {
        let version = run(&bin.join("pg_ctl"), &["--version"], false)?;
        let major: String = version
            .rsplit(' ')
            .next()
            .unwrap_or("0")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let template = work.join(format!("pg-template-{major}"));
        if template.join("PG_VERSION").exists() {
            return Ok(template);
        }
        std::fs::create_dir_all(work).map_err(io("creating the work directory"))?;
        traversable(work);
        let building = work.join(format!("pg-template-{major}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&building);
        std::fs::create_dir_all(&building).map_err(io("creating the template directory"))?;
        give_to_pg(&building)?;
        run(
            &bin.join("initdb"),
            &[
                "-D",
                &building.to_string_lossy(),
                "-U",
                "wump",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ],
            true,
        )?;
        match std::fs::rename(&building, &template) {
            Ok(()) => Ok(template),
            // Another run made it first.
            Err(_) if template.join("PG_VERSION").exists() => {
                let _ = std::fs::remove_dir_all(&building);
                Ok(template)
            }
            Err(e) => Err(io("publishing the template cluster")(e)),
        }
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://wump@127.0.0.1:<port>/wump`, or through `port` (a proxy) when given.
    pub fn url_via(&self, port: Option<u16>) -> String {
        format!(
            "postgres://wump@127.0.0.1:{}/wump",
            port.unwrap_or(self.port)
        )
    }

    /// The server's log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// `pg_ctl stop -m immediate`: the server dies without a checkpoint, as on a crash.
    pub fn kill(&self) -> Result<()> {
        self.pg_ctl(&["stop", "-m", "immediate", "-w", "-t", "60", "-s"])
            .map(|_| ())
    }

    /// Starts the (stopped) server again and waits until it accepts connections.
    pub fn start_again(&self) -> Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.data.display()
        );
        self.pg_ctl(&[
            "start",
            "-l",
            &self.log.to_string_lossy(),
            "-w",
            "-t",
            "60",
            "-s",
            "-o",
            &options,
        ])
        .map(|_| ())
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<String> {
        let data = self.data.to_string_lossy().into_owned();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        run(&self.bin.join("pg_ctl"), &all, true)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Already stopped is fine. The data goes (tens of MB a run); the log stays.
        let _ = self.kill();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// A Valkey server of this run, with its append-only file on (as compose.yaml runs it), so a
/// restart comes back with the queues it had.
#[derive(Debug)]
pub struct Valkey {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Mutex<Option<Child>>,
}

impl Valkey {
    /// Starts Valkey in `dir/valkey` on a free port and waits for PONG.
    pub fn start(dir: &Path) -> Result<Self> {
        let bin = service_binary("valkey")?;
        let dir = dir.join("valkey");
        std::fs::create_dir_all(&dir).map_err(io("creating the valkey directory"))?;
        let valkey = Self {
            bin,
            dir,
            port: free_port()?,
            child: Mutex::new(None),
        };
        valkey.start_again()?;
        Ok(valkey)
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log file (next to its data directory, kept after the run).
    pub fn log(&self) -> PathBuf {
        self.dir.with_extension("log")
    }

    /// SIGKILL: no shutdown save, whatever the AOF holds is what comes back.
    pub fn kill(&self) -> Result<()> {
        if let Some(mut child) = self.child.lock().expect("valkey child").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        Ok(())
    }

    /// Starts the server again from its directory (its AOF) and waits until it answers PONG
    /// (not LOADING).
    pub fn start_again(&self) -> Result<()> {
        let child = Command::new(&self.bin)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--maxmemory-policy",
                "noeviction",
                "--protected-mode",
                "yes",
            ])
            .arg("--logfile")
            .arg(self.log())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io(format!("starting {}", self.bin.display())))?;
        *self.child.lock().expect("valkey child") = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(Error::Setup(format!(
            "Valkey on port {} does not answer PING (log: {})",
            self.port,
            self.log().display()
        )))
    }

    /// True when the server answers PING with PONG.
    pub fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut reply = [0u8; 5];
        stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG"
    }
}

impl Drop for Valkey {
    fn drop(&mut self) {
        let _ = self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
