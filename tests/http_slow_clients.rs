//! Hostile and slow clients at the listener (issue 10 items 5 and 6, `http.md` §1): sockets
//! that never send a byte are closed, one address cannot hold every descriptor, the accept
//! loop does not spin on `EMFILE`, and slow bodies are cut with a 408 envelope.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Server;
use serde_json::json;

/// Whether the server closed `s` (EOF or reset) within `bound`.
fn closed_within(s: &mut TcpStream, bound: Duration) -> bool {
    s.set_read_timeout(Some(bound)).unwrap();
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {
                if start.elapsed() > bound {
                    return false;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// Read one HTTP response (head and body) from `s` as text, until the server closes or the
/// body announced by `Content-Length` is complete.
fn read_response(s: &mut TcpStream, bound: Duration) -> String {
    s.set_read_timeout(Some(bound)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&out);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if body.len() >= len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn health_ok(server: &Server) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", server.port)) else {
        return false;
    };
    s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    read_response(&mut s, Duration::from_secs(5)).starts_with("HTTP/1.1 200")
}

#[test]
fn silent_connections_are_closed_by_the_header_read_timeout() {
    let server = Server::start(json!({}), &[]);
    let mut idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
        .collect();
    // The spec's header read timeout is 10 s; allow scheduling slack, far below "never".
    let handles: Vec<_> = idle
        .drain(..)
        .map(|mut s| std::thread::spawn(move || closed_within(&mut s, Duration::from_secs(20))))
        .collect();
    let closed = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|c| *c)
        .count();
    assert_eq!(closed, 20, "every silent connection is closed within 20 s");
    assert!(health_ok(&server));
}

#[test]
fn one_address_cannot_hold_every_connection() {
    let server = Server::start(json!({}), &[]);
    // voxray::server::conn::MAX_CONNECTIONS_PER_ADDR is 256.
    let held: Vec<TcpStream> = (0..256)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
        .collect();
    // The next one is closed at accept, long before the 10 s first-byte deadline.
    let mut extra = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_secs(5)),
        "connection 257 from one address is closed at once"
    );
    drop(held);
    // Slots are released: a new connection is served.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !health_ok(&server) {
        assert!(Instant::now() < deadline, "/health answers after release");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// CPU time (user + system, in clock ticks) of process `pid`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields after the command: state is index 0, utime 11, stime 12.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn accept_loop_backs_off_when_descriptors_run_out() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, r#"{"port": 0}"#).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_voxray"));
    cmd.arg("serve")
        .arg("--config")
        .arg(&path)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VOXRAY_KEYRING_BACKEND", "none");
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 64,
                rlim_max: 64,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let server = Server::spawn(cmd, dir);
    let _held: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", server.port)).ok())
        .collect();
    // Positive signal first: the server saw EMFILE.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("out of resources") {
        assert!(
            Instant::now() < deadline,
            "EMFILE is reported: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    let before = cpu_ticks(server.child.id());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(server.child.id()) - before;
    assert!(
        used < ticks_per_sec / 2,
        "the accept loop spins while out of descriptors: {used} ticks in 2 s"
    );
    // Once the silent sockets are closed by the header read timeout, /health answers again.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !health_ok(&server) {
        assert!(Instant::now() < deadline, "/health answers after recovery");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Issue 10 item 6: a body that stops arriving gets a 408 envelope and the connection is
/// closed; a body trickled at 1 byte/s is cut too.
#[test]
fn stalled_and_trickled_bodies_get_408() {
    let server = Server::start(json!({}), &[]);
    let head = |len: usize| {
        format!(
            "POST /start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
    };
    // Declared 2000 bytes, sends 2, then nothing.
    let mut stalled = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stalled.write_all(head(2000).as_bytes()).unwrap();
    stalled.write_all(b"{\"").unwrap();
    // Trickled: a declared 100 kB body at 1 byte per second, on its own thread.
    let port = server.port;
    let trickle_head = head(100_000);
    let trickler = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(trickle_head.as_bytes()).unwrap();
        let start = Instant::now();
        let mut reader = s.try_clone().unwrap();
        reader
            .set_read_timeout(Some(Duration::from_millis(900)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while start.elapsed() < Duration::from_secs(40) {
            if s.write_all(b" ").is_err() {
                break;
            }
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => break,
            }
            if got.windows(4).any(|w| w == b"\r\n\r\n") && got.ends_with(b"}}") {
                break;
            }
        }
        (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
    });
    let response = read_response(&mut stalled, Duration::from_secs(20));
    assert!(
        response.starts_with("HTTP/1.1 408"),
        "stalled body: {response:?}"
    );
    assert!(response.contains(
        r#"{"error":{"code":"request_timeout","message":"request body not received in time"}}"#
    ));
    assert!(response.to_ascii_lowercase().contains("x-request-id:"));
    assert!(closed_within(&mut stalled, Duration::from_secs(5)));
    let (trickled, took) = trickler.join().unwrap();
    assert!(
        trickled.starts_with("HTTP/1.1 408"),
        "trickled body: {trickled:?}"
    );
    assert!(took < Duration::from_secs(35), "cut within bound: {took:?}");
    assert!(health_ok(&server));
}

/// Issue 10 item 10 / `http.md` §1: an idle keep-alive connection stays usable past the 10 s
/// header read timeout (keep-alive idle is 60 s), while a request head that stalls is cut.
#[test]
fn keep_alive_outlives_the_header_timeout_but_slow_heads_do_not() {
    let server = Server::start(json!({}), &[]);
    let mut kept = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    assert!(read_response(&mut kept, Duration::from_secs(5)).starts_with("HTTP/1.1 200"));
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    // The stalled head is closed within the header read timeout (10 s, with slack)…
    assert!(
        closed_within(&mut slow, Duration::from_secs(20)),
        "a stalled request head is cut"
    );
    // …and by then the idle keep-alive connection, older than 10 s, still serves.
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let res = read_response(&mut kept, Duration::from_secs(5));
    assert!(
        res.starts_with("HTTP/1.1 200"),
        "keep-alive past 10 s: {res:?}"
    );
}

/// Issue 10 item 10: a header block over 64 KiB gets the 431 envelope with `X-Request-Id`
/// and `nosniff`, not hyper's bare status line.
#[test]
fn oversize_headers_get_the_431_envelope() {
    let server = Server::start(json!({}), &[]);
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let big = "a".repeat(70 * 1024);
    s.write_all(
        format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {big}\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let res = read_response(&mut s, Duration::from_secs(10));
    assert!(res.starts_with("HTTP/1.1 431"), "{res:?}");
    let lower = res.to_ascii_lowercase();
    assert!(lower.contains("x-request-id:"), "{res}");
    assert!(lower.contains("x-content-type-options: nosniff"), "{res}");
    assert!(
        res.ends_with(
            r#"{"error":{"code":"headers_too_large","message":"request headers too large"}}"#
        ),
        "{res}"
    );
    assert!(health_ok(&server));
}
