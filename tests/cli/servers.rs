//! Real servers for the tests: started on loopback ports, stopped when the
//! test ends, whatever happens in it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Child processes, killed when dropped, whatever happens in the test.
pub struct Processes(pub Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn spawn(program: &str, args: &[String], log: &std::path::Path) -> Child {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

/// Polls `check` every 200 ms until it holds, for at most `seconds`.
pub fn wait_for(seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The PostgreSQL server programs: Debian's newest.
pub fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// A command run as the `postgres` user when this runs as root (PostgreSQL
/// refuses root), else as is.
pub fn as_postgres(program: &Path) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

pub fn psql(bin: &Path, port: u16, sql: &str) -> String {
    psql_in(bin, port, "postgres", sql)
}

/// Runs `sql` as `postgres` in `database`, returning its unaligned output.
pub fn psql_in(bin: &Path, port: u16, database: &str, sql: &str) -> String {
    let output = Command::new(bin.join("psql"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A PostgreSQL data directory made by initdb, owned by `postgres`, and
/// the server on it once started.
pub struct Cluster {
    pub bin: PathBuf,
    pub data: PathBuf,
    pub port: u16,
}

impl Cluster {
    /// Runs initdb in `dir/name` (trust for `postgres`, passwords for the
    /// other roles over TCP) and starts the server with `settings`.
    pub fn start(
        bin: &Path,
        dir: &Path,
        name: &str,
        port: u16,
        settings: &[&str],
        processes: &mut Processes,
    ) -> Self {
        let data = dir.join(name);
        let init = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust"])
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\n\
             host all postgres 127.0.0.1/32 trust\n\
             host replication postgres 127.0.0.1/32 trust\n\
             host all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        let cluster = Self {
            bin: bin.to_owned(),
            data,
            port,
        };
        processes.0.push(cluster.spawn(dir, settings));
        cluster.wait();
        cluster
    }

    /// Starts a server on an existing data directory.
    pub fn spawn(&self, dir: &Path, settings: &[&str]) -> Child {
        let mut command = as_postgres(&self.bin.join("postgres"));
        command
            .arg("-D")
            .arg(&self.data)
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(dir)
            .args(["-c", "listen_addresses=127.0.0.1"]);
        for setting in settings {
            command.args(["-c", setting]);
        }
        let log = self.data.with_extension("log");
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(log).unwrap())
            .spawn()
            .unwrap()
    }

    /// A replica of this server made by pg_basebackup in `dir/name`,
    /// started, and streaming before this returns.
    pub fn replica(&self, dir: &Path, name: &str, port: u16, processes: &mut Processes) -> Self {
        let replica = Self {
            bin: self.bin.clone(),
            data: dir.join(name),
            port,
        };
        let backup = as_postgres(&self.bin.join("pg_basebackup"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "--checkpoint=fast", "-R", "-D"])
            .arg(&replica.data)
            .output()
            .unwrap();
        assert!(
            backup.status.success(),
            "pg_basebackup: {}",
            String::from_utf8_lossy(&backup.stderr)
        );
        processes.0.push(replica.spawn(dir, &["hot_standby=on"]));
        replica.wait();
        wait_for(30, "the replica to stream", || {
            self.sql("select count(*) from pg_stat_replication where state = 'streaming'") == "1"
        });
        replica
    }

    /// Waits until the server answers.
    pub fn wait(&self) {
        wait_for(30, "PostgreSQL", || self.sql("select 1") == "1");
    }

    /// Runs `sql` in the `postgres` database.
    pub fn sql(&self, sql: &str) -> String {
        psql(&self.bin, self.port, sql)
    }

    /// Runs `sql` in `database`, which must succeed.
    pub fn sql_in(&self, database: &str, sql: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

/// A directory the `postgres` user can work in, inside a fresh temporary one.
pub fn postgres_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut permissions = fs::metadata(dir.path()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    fs::set_permissions(dir.path(), permissions).unwrap();
    let pg_dir = dir.path().join("pg");
    fs::create_dir(&pg_dir).unwrap();
    let _ = Command::new("chown").arg("postgres").arg(&pg_dir).status();
    (dir, pg_dir)
}

/// A self-signed certificate for `localhost` and its key, made by openssl
/// (installed by `.ci/run`) in `dir` as `server.crt` and `server.key`.
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (key, cert) = (dir.join("server.key"), dir.join("server.crt"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-x509",
            "-days",
            "2",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (installed by .ci/run)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    (key, cert)
}

/// Whether a test must skip for want of `missing` packages: never in CI
/// (`.ci/run` installs them), loudly elsewhere.
pub fn skipped(test: &str, missing: &[&str]) -> bool {
    if missing.is_empty() {
        return false;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the {test} test: .ci/run installs {missing:?}"
    );
    // Written to the process's standard error itself, which the test
    // harness does not capture: the skip shows in `cargo test`'s output.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("\n*** SKIPPED: the {test} test needs {missing:?} (Debian packages); `bash .ci/run` installs them ***\n").as_bytes(),
    );
    true
}

/// Held by each test that starts real servers, so that they run one at a
/// time: the live stack compares CPU against the machine's own `/proc/stat`,
/// which another test's workload would disturb.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
