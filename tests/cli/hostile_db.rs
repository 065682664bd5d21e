//! `--postgres` and `--redis` against hostile servers: small fake servers on
//! loopback ports that accept and then say nothing, trickle their answer a
//! byte at a time, announce answers of gigabytes, or flood notices. Each
//! must end the command with one line naming the server (never its
//! password), exit code 2, by the one deadline of `--connect-timeout` (the
//! bound checked is three times it, loosely: the servers would hold the
//! command for minutes), having read a bounded part of what was sent.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// `--connect-timeout` in these tests, in seconds.
const DEADLINE: u64 = 2;

/// The command must have ended by then.
const BOUND: Duration = Duration::from_secs(3 * DEADLINE);

/// A command still running then is killed, so that a hang fails the test.
const KILL_AFTER: Duration = Duration::from_secs(60);

/// What a flooding server sends at most before it waits: far more than
/// scalectl may read.
const FLOOD_BYTES: u64 = 256 << 20;

/// The most a flooding server may have handed the client's socket: what
/// scalectl read, plus what the kernel buffers on both ends.
const READ_AT_MOST: u64 = 64 << 20;

/// scalectl's stderr, exit code and how long it ran.
struct Run {
    output: Output,
    took: Duration,
}

impl Run {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Exit code 2, one line of error naming `server`, within the bound.
    fn refused(&self, server: &str) -> String {
        let stderr = self.stderr();
        assert_eq!(self.output.status.code(), Some(2), "{stderr}");
        assert!(
            self.took < BOUND,
            "took {:?}, more than {BOUND:?}: {stderr}",
            self.took
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(server), "{stderr}");
        assert!(!stderr.contains("os error"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
        stderr
    }

    /// As [`Run::refused`], for a server that never finished answering.
    fn no_answer(&self, server: &str) {
        let stderr = self.refused(server);
        assert_eq!(
            stderr.trim_end(),
            format!("error: no answer from {server} within {DEADLINE} s")
        );
    }
}

/// Runs scalectl, killing it after [`KILL_AFTER`].
fn scalectl(args: &[&str], env: &[(&str, &str)]) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scalectl"))
        .args(args)
        .args(["--connect-timeout", &DEADLINE.to_string()])
        .env_remove("PGPASSWORD")
        .env_remove("SCALECTL_POSTGRES_PASSWORD")
        .env_remove("SCALECTL_REDIS_PASSWORD")
        .env("PGPASSFILE", "/nonexistent")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > KILL_AFTER {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    Run {
        output: Output {
            status,
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        },
        took,
    }
}

/// A fake server on a loopback port, running `handle` on each connection.
fn serve(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = Arc::new(handle);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handle = Arc::clone(&handle);
            thread::spawn(move || {
                // Nothing here outlives the test run by much.
                let _ = stream.set_write_timeout(Some(KILL_AFTER));
                let _ = stream.set_read_timeout(Some(KILL_AFTER));
                handle(stream);
            });
        }
    });
    port
}

/// Reads until the client goes away.
fn hold(stream: &mut TcpStream) {
    let _ = io::copy(stream, &mut io::sink());
}

/// Writes `head`, then `unit` over and over up to `total` bytes (at most
/// [`FLOOD_BYTES`]) and `tail`, or until the client goes away, counting in
/// `sent` what the client's socket took; then holds the connection open.
fn flood(
    stream: &mut TcpStream,
    head: &[u8],
    unit: &[u8],
    total: u64,
    tail: &[u8],
    sent: &AtomicU64,
) {
    if stream.write_all(head).is_err() {
        return;
    }
    let chunk = unit.repeat((64 << 10) / unit.len());
    let total = total.min(FLOOD_BYTES);
    let mut written = 0;
    while written < total {
        let most =
            usize::try_from(total - written).map_or(chunk.len(), |left| left.min(chunk.len()));
        match stream.write(&chunk[..most]) {
            Ok(n) => {
                written += n as u64;
                sent.fetch_add(n as u64, Ordering::SeqCst);
            }
            Err(_) => return,
        }
    }
    if stream.write_all(tail).is_err() {
        return;
    }
    hold(stream);
}

/// Writes `head`, then a byte every half second until the client goes away.
fn trickle(stream: &mut TcpStream, head: &[u8]) {
    if stream.write_all(head).is_err() {
        return;
    }
    for _ in 0..200 {
        thread::sleep(Duration::from_millis(500));
        if stream.write_all(b"x").is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------- Redis

/// A fake Redis: `+OK` to every command, and `info` answers `INFO`.
fn fake_redis(info: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> String {
    let port = serve(move |mut stream| {
        let mut parser = redis::Parser::new();
        let mut reader = stream.try_clone().unwrap();
        while let Ok(command) = parser.parse_value(&mut reader) {
            let name = match &command {
                redis::Value::Array(parts) => match parts.first() {
                    Some(redis::Value::BulkString(name)) => {
                        String::from_utf8_lossy(name).to_ascii_uppercase()
                    }
                    _ => String::new(),
                },
                _ => String::new(),
            };
            if name == "INFO" {
                info(&mut stream);
            } else if stream.write_all(b"+OK\r\n").is_err() {
                return;
            }
        }
    });
    format!("redis://127.0.0.1:{port}")
}

fn collect_redis(url: &str, env: &[(&str, &str)]) -> Run {
    scalectl(&["collect", "--redis", url, "--users", "10"], env)
}

#[test]
fn a_redis_that_never_answers_is_given_up_on_at_the_deadline() {
    let url = fake_redis(|_| {});
    let port = serve(|mut stream| hold(&mut stream));
    let silent = format!("redis://127.0.0.1:{port}");
    // With a password: AUTH is never answered either, and never echoed.
    collect_redis(&silent, &[("SCALECTL_REDIS_PASSWORD", "hunter2")]).no_answer(&silent);
    // A Redis that answers everything but INFO.
    collect_redis(&url, &[]).no_answer(&url);
}

#[test]
fn a_redis_trickling_a_bulk_string_is_given_up_on_at_the_deadline() {
    // Under the size limit: only the deadline can end it.
    let url = fake_redis(|stream| trickle(stream, b"$1000000\r\n"));
    collect_redis(&url, &[]).no_answer(&url);
}

/// A hostile INFO answer is refused, naming the server and the limit, with
/// at most a few MiB read of it: `head`, then `unit` repeated to `total`
/// bytes and `tail`.
fn refused_info(head: &'static [u8], unit: &'static [u8], total: u64, tail: &'static [u8]) {
    let sent = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&sent);
    let url = fake_redis(move |stream| flood(stream, head, unit, total, tail, &counted));
    let run = collect_redis(&url, &[]);
    let stderr = run.refused(&url);
    assert!(
        stderr.contains("the answer to INFO is larger than 1 MiB; refused"),
        "{stderr}"
    );
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < READ_AT_MOST, "the client took {sent} bytes");
}

#[test]
fn a_redis_info_of_1_5_gb_is_refused_in_bounded_memory() {
    // Announced whole; sent up to FLOOD_BYTES, far past what may be read.
    refused_info(
        b"$1500000000\r\n",
        b"keyspace_hits:1\r\n",
        1_500_000_000,
        b"\r\n",
    );
}

#[test]
fn a_redis_array_of_50_million_elements_is_refused_in_bounded_memory() {
    refused_info(b"*50000000\r\n", b":1\r\n", 200_000_000, b"");
}

#[test]
fn a_redis_info_of_3_million_lines_is_refused_in_bounded_memory() {
    // 3,000,000 lines of `a:1`, as one bulk string.
    refused_info(b"$15000000\r\n", b"a:1\r\n", 15_000_000, b"\r\n");
}

#[test]
fn redis_counters_at_the_top_of_64_bits_give_a_hit_rate_of_50() {
    let url = fake_redis(|stream| {
        let info = "# Server\r\nredis_version:7.2.4\r\nuptime_in_seconds:86400\r\n# Stats\r\n\
                    keyspace_hits:18446744073709551615\r\nkeyspace_misses:18446744073709551615\r\n";
        let _ = write!(stream, "${}\r\n{info}\r\n", info.len());
    });
    let run = collect_redis(&url, &[]);
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    assert!(run.output.status.success(), "{}", run.stderr());
    let rate = stdout
        .lines()
        .find_map(|l| l.strip_prefix("cache_hit_rate_pct: "))
        .and_then(|v| v.parse::<f64>().ok());
    assert_eq!(rate, Some(50.0), "{stdout}");
    assert!(
        stdout.contains("18,446,744,073,709,551,615 hits"),
        "{stdout}"
    );
}

// ----------------------------------------------------------- PostgreSQL

const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// One message from the client: its type and body.
fn message(stream: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut header = [0; 5];
    stream.read_exact(&mut header).ok()?;
    let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    let mut body = vec![0; length.checked_sub(4)? as usize];
    stream.read_exact(&mut body).ok()?;
    Some((header[0], body))
}

/// A server's message.
fn backend(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![tag];
    bytes.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    bytes.extend_from_slice(body);
    bytes
}

/// Declines TLS, reads the startup message and lets the client in, without
/// a password; false when the client went away.
fn startup(stream: &mut TcpStream) -> bool {
    if !read_startup(stream) {
        return false;
    }
    let mut answer = backend(b'R', &0u32.to_be_bytes());
    answer.extend(backend(b'Z', b"I"));
    stream.write_all(&answer).is_ok()
}

/// Declines TLS and reads the startup message; false when the client went away.
fn read_startup(stream: &mut TcpStream) -> bool {
    let mut first = [0; 8];
    if stream.read_exact(&mut first).is_err() {
        return false;
    }
    if first == SSL_REQUEST
        && (stream.write_all(b"N").is_err() || stream.read_exact(&mut first).is_err())
    {
        return false;
    }
    let length = u32::from_be_bytes([first[0], first[1], first[2], first[3]]) as usize;
    let mut rest = vec![0; length.saturating_sub(8)];
    stream.read_exact(&mut rest).is_ok()
}

/// A fake PostgreSQL: `then` runs after the first statement is received.
fn fake_postgres(then: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> String {
    let port = serve(move |mut stream| {
        if startup(&mut stream) && message(&mut stream).is_some() {
            then(&mut stream);
        }
        hold(&mut stream);
    });
    format!("postgres://scalectl@127.0.0.1:{port}/app")
}

fn checklist_postgres(url: &str) -> Run {
    scalectl(
        &["checklist", "--postgres", url],
        &[("SCALECTL_POSTGRES_PASSWORD", "hunter2")],
    )
}

#[test]
fn a_postgres_that_never_answers_is_given_up_on_at_the_deadline() {
    let port = serve(|mut stream| hold(&mut stream));
    let url = format!("postgres://scalectl@127.0.0.1:{port}/app");
    checklist_postgres(&url).no_answer(&url);
}

#[test]
fn a_postgres_that_stalls_after_set_statement_timeout_is_given_up_on() {
    // The first statement is `SET ... statement_timeout`: never answered.
    let url = fake_postgres(|_| {});
    checklist_postgres(&url).no_answer(&url);
}

#[test]
fn a_postgres_trickling_its_answer_is_given_up_on_at_the_deadline() {
    let mut head = vec![b'E'];
    head.extend_from_slice(&1_000u32.to_be_bytes());
    let url = fake_postgres(move |stream| trickle(stream, &head));
    checklist_postgres(&url).no_answer(&url);
}

#[test]
fn a_postgres_flooding_notices_is_cut_off() {
    let notice = backend(b'N', b"SNOTICE\0C00000\0Mone more notice\0\0");
    let url = fake_postgres(move |stream| {
        loop {
            if stream.write_all(&notice.repeat(1_000)).is_err() {
                return;
            }
        }
    });
    let run = checklist_postgres(&url);
    let stderr = run.refused(&url);
    assert!(
        stderr.contains(&format!("no answer from {url} within {DEADLINE} s"))
            || stderr.contains("more than 256 MiB in one session; refused"),
        "{stderr}"
    );
}

#[test]
fn a_postgres_error_of_1_9_gb_is_refused_from_its_header() {
    let sent = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&sent);
    let url = fake_postgres(move |stream| {
        let mut head = vec![b'E'];
        head.extend_from_slice(&1_900_000_000u32.to_be_bytes());
        flood(stream, &head, b"SERROR\0", 1_900_000_000, b"", &counted);
    });
    let run = checklist_postgres(&url);
    let stderr = run.refused(&url);
    assert!(
        stderr.contains("announced a message of 1,900,000,001 bytes, more than the 16 MiB"),
        "{stderr}"
    );
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < READ_AT_MOST, "the client took {sent} bytes");
}

/// A server that declines TLS and asks for the password in the clear (or as
/// an MD5 hash) is refused before the password is sent; `require_auth` in
/// the URL allows it.
#[test]
fn a_postgres_asking_for_the_password_in_the_clear_never_gets_it() {
    for (method, salt) in [(3u32, &[][..]), (5, &[1, 2, 3, 4][..])] {
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let seen = std::sync::Arc::clone(&got);
        let port = serve(move |mut stream| {
            if !read_startup(&mut stream) {
                return;
            }
            let mut body = method.to_be_bytes().to_vec();
            body.extend_from_slice(salt);
            if stream.write_all(&backend(b'R', &body)).is_err() {
                return;
            }
            // Whatever comes back: a password message, or nothing.
            if let Some((tag, body)) = message(&mut stream) {
                let mut seen = seen.lock().unwrap();
                seen.push(tag);
                seen.extend(body);
            }
        });
        let url = format!("postgres://scalectl@127.0.0.1:{port}/app");
        let run = checklist_postgres(&url);
        let err = String::from_utf8_lossy(&run.output.stderr).into_owned();
        assert_eq!(run.output.status.code(), Some(2), "{err}");
        assert!(
            err.contains("over a connection that is not verified TLS; refused"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        let sent = got.lock().unwrap().clone();
        assert!(
            !String::from_utf8_lossy(&sent).contains("hunter2") && !sent.contains(&b'p'),
            "method {method}: the server received {sent:?}"
        );
        // Allowed in the URL: the password is sent.
        let allowed = format!(
            "{url}?require_auth={}",
            if method == 3 { "password" } else { "md5" }
        );
        let _ = checklist_postgres(&allowed);
        let sent = got.lock().unwrap().clone();
        assert!(sent.first() == Some(&b'p'), "method {method}: {sent:?}");
    }
}

/// Inside TLS whose certificate is not checked (`sslmode=prefer`, the
/// default), a server asking for the password in the clear is refused as
/// well: the stream follows the messages after decryption.
#[test]
fn a_postgres_asking_for_the_password_in_the_clear_inside_tls_never_gets_it() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = super::servers::self_signed(dir.path());
    use rustls::pki_types::pem::PemObject as _;
    let certs: Vec<_> =
        rustls::pki_types::CertificateDer::pem_slice_iter(&std::fs::read(&cert).unwrap())
            .map(Result::unwrap)
            .collect();
    let key =
        rustls::pki_types::PrivateKeyDer::from_pem_slice(&std::fs::read(&key).unwrap()).unwrap();
    let config = std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let seen = std::sync::Arc::clone(&got);
    let port = serve(move |mut stream| {
        let mut first = [0; 8];
        if stream.read_exact(&mut first).is_err()
            || first != SSL_REQUEST
            || stream.write_all(b"S").is_err()
        {
            return;
        }
        let connection = rustls::ServerConnection::new(std::sync::Arc::clone(&config)).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, stream);
        let mut length = [0; 4];
        if tls.read_exact(&mut length).is_err() {
            return;
        }
        let mut rest = vec![0; (u32::from_be_bytes(length) as usize).saturating_sub(4)];
        if tls.read_exact(&mut rest).is_err() {
            return;
        }
        if tls.write_all(&backend(b'R', &3u32.to_be_bytes())).is_err() || tls.flush().is_err() {
            return;
        }
        let mut header = [0; 5];
        if tls.read_exact(&mut header).is_ok() {
            let mut seen = seen.lock().unwrap();
            seen.extend_from_slice(&header);
            let mut body = vec![0; 64];
            if let Ok(n) = tls.read(&mut body) {
                seen.extend_from_slice(&body[..n]);
            }
        }
    });
    let url = format!("postgres://scalectl@127.0.0.1:{port}/app");
    let run = checklist_postgres(&url);
    let err = String::from_utf8_lossy(&run.output.stderr).into_owned();
    assert_eq!(run.output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the server asks for the password in the clear inside TLS whose certificate is not verified; refused"),
        "{err}"
    );
    let sent = got.lock().unwrap().clone();
    assert!(
        !String::from_utf8_lossy(&sent).contains("hunter2"),
        "the server received {sent:?}"
    );
}
