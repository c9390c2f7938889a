//! Frozen objects and signed releases (R39): every requested object is kept in the
//! store's spool under its sha256, and a release copies an approved one out beside a
//! manifest signed with the enclave's ed25519 key, which anyone holding the programme's
//! public key can verify offline.

use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use workbench_governance::events::{from_hex, sha256_hex, to_hex};

/// The spool, inside the governance store.
pub const SPOOL_DIR: &str = "spool";
/// The enclave's release key (PKCS#8), inside the governance store.
pub const KEY_FILE: &str = "release.key";
/// A release's manifest.
pub const MANIFEST: &str = "manifest.json";
/// The manifest's signature (hex).
pub const SIGNATURE: &str = "manifest.sig";

/// Why a spool, key or release step failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A durable write failed.
    #[error(transparent)]
    Durable(#[from] crate::durable::Error),
    /// A frozen object no longer has the sha256 it was frozen under.
    #[error(
        "R39-export: the frozen object {sha256} has changed since it was requested (now {now})"
    )]
    Changed {
        /// What it was frozen as.
        sha256: String,
        /// What it is now.
        now: String,
    },
    /// The key is unreadable or not an ed25519 key.
    #[error("release key {}: {why}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A release does not verify.
    #[error("R39-export: {0}")]
    Verify(String),
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

/// Makes `dir` (and its parents) with mode 0700.
fn private_dir(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io("creating", dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io("making private", dir))
}

/// Freezes `bytes` in the spool of the store at `store`; its sha256.
///
/// # Errors
///
/// The spool cannot be written.
pub fn freeze(store: &Path, bytes: &[u8]) -> Result<String, Error> {
    let spool = store.join(SPOOL_DIR);
    private_dir(&spool)?;
    let sha256 = sha256_hex(bytes);
    let path = spool.join(&sha256);
    if !path.exists() {
        crate::durable::write(&path, bytes)?;
    }
    Ok(sha256)
}

/// The frozen object `sha256`, checked against its name.
///
/// # Errors
///
/// It is missing, or [`Error::Changed`].
pub fn frozen(store: &Path, sha256: &str) -> Result<Vec<u8>, Error> {
    let path = store.join(SPOOL_DIR).join(sha256);
    let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
    let now = sha256_hex(&bytes);
    if now != sha256 {
        return Err(Error::Changed {
            sha256: sha256.to_owned(),
            now,
        });
    }
    Ok(bytes)
}

/// The enclave's release key, made (0600) on first use.
///
/// # Errors
///
/// The key cannot be made, read or parsed.
pub fn key(store: &Path) -> Result<Ed25519KeyPair, Error> {
    let path = store.join(KEY_FILE);
    let bad = |why: String| Error::Key {
        path: path.clone(),
        why,
    };
    if !path.exists() {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|e| bad(format!("generating: {e}")))?;
        crate::durable::write_with(&path, |w| {
            use std::io::Write as _;
            use std::os::unix::fs::PermissionsExt;
            w.get_ref()
                .set_permissions(std::fs::Permissions::from_mode(0o600))?;
            w.write_all(pkcs8.as_ref())
        })?;
    }
    let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
    Ed25519KeyPair::from_pkcs8(&bytes).map_err(|e| bad(format!("not an ed25519 key: {e}")))
}

/// The public half of a key, as hex.
pub fn public_hex(key: &Ed25519KeyPair) -> String {
    to_hex(key.public_key().as_ref())
}

/// Writes a release into the new directory `out`: the object as `file_name`, the
/// manifest, and its signature. The directory is built aside and renamed into place.
///
/// # Errors
///
/// `out` exists, or a file cannot be written.
pub fn write(
    out: &Path,
    file_name: &str,
    bytes: &[u8],
    manifest: &serde_json::Value,
    key: &Ed25519KeyPair,
) -> Result<(), Error> {
    let staged = crate::durable::StagedDir::new(out)?;
    let text = serde_json::to_string_pretty(manifest).map_err(|e| Error::Verify(e.to_string()))?;
    let signature = to_hex(key.sign(text.as_bytes()).as_ref());
    crate::durable::write(&staged.path().join(file_name), bytes)?;
    crate::durable::write(&staged.path().join(MANIFEST), text.as_bytes())?;
    crate::durable::write(&staged.path().join(SIGNATURE), signature.as_bytes())?;
    staged.commit()?;
    Ok(())
}

/// Verifies the release in `dir` against the public key `public` (hex): the manifest's
/// signature, then every file it lists by size and sha256, and no file it does not list.
/// The manifest.
///
/// # Errors
///
/// [`Error::Verify`] saying what does not hold.
pub fn verify(dir: &Path, public: &str) -> Result<serde_json::Value, Error> {
    let manifest_path = dir.join(MANIFEST);
    let text = std::fs::read(&manifest_path).map_err(io("reading", &manifest_path))?;
    let signature_path = dir.join(SIGNATURE);
    let signature =
        std::fs::read_to_string(&signature_path).map_err(io("reading", &signature_path))?;
    let key = from_hex(public).ok_or_else(|| Error::Verify("the public key is not hex".into()))?;
    let signature =
        from_hex(&signature).ok_or_else(|| Error::Verify("the signature is not hex".into()))?;
    UnparsedPublicKey::new(&ED25519, &key)
        .verify(&text, &signature)
        .map_err(|_| {
            Error::Verify(
                "the manifest's signature does not verify with this key: the manifest was changed, or it was not signed by this enclave".into(),
            )
        })?;
    let manifest: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| Error::Verify(format!("the manifest is not JSON: {e}")))?;
    let files = manifest["files"]
        .as_array()
        .ok_or_else(|| Error::Verify("the manifest lists no files".into()))?;
    let mut listed = vec![MANIFEST.to_owned(), SIGNATURE.to_owned()];
    for file in files {
        let name = file["name"]
            .as_str()
            .filter(|n| crate::durable::is_plain_name(n, 200))
            .ok_or_else(|| Error::Verify(format!("a file entry has no plain name: {file}")))?;
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
        let sha = sha256_hex(&bytes);
        if Some(sha.as_str()) != file["sha256"].as_str() {
            return Err(Error::Verify(format!(
                "{name} has sha256 {sha}, the manifest says {}",
                file["sha256"]
            )));
        }
        listed.push(name.to_owned());
    }
    for entry in std::fs::read_dir(dir).map_err(io("listing", dir))? {
        let entry = entry.map_err(io("listing", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !listed.contains(&name) {
            return Err(Error::Verify(format!(
                "{name} is in the release but not in its manifest"
            )));
        }
    }
    Ok(manifest)
}
