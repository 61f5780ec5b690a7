//! Sealing secrets at rest with XChaCha20-Poly1305 under a 32-byte master key.
//!
//! The key comes from `LUMOSFLOW_MASTER_KEY` (base64) or a key file created with mode 0600 on
//! first use. A check value sealed under the key is kept in the database, so a wrong or
//! missing key is detected before anything is decrypted or re-keyed.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, Generate, Payload};
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::StoreError;

const CHECK_PLAINTEXT: &[u8] = b"lumosflow master key check v1";

/// Where the master key comes from.
#[derive(Clone)]
pub enum KeySource {
    /// Base64 of 32 bytes (from `LUMOSFLOW_MASTER_KEY`).
    Env(Zeroizing<String>),
    /// A key file, created on first use.
    File(PathBuf),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env(_) => f.write_str("KeySource::Env(..)"),
            KeySource::File(p) => write!(f, "KeySource::File({})", p.display()),
        }
    }
}

pub struct MasterKey {
    cipher: XChaCha20Poly1305,
}

/// A sealed secret: a fresh random nonce and the ciphertext with its tag.
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl MasterKey {
    fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            StoreError::Key(format!(
                "the master key must be 32 bytes, got {}",
                bytes.len()
            ))
        })?;
        let key = Zeroizing::new(arr);
        Ok(Self {
            cipher: XChaCha20Poly1305::new(&Key::from(*key)),
        })
    }

    fn decode(text: &str, origin: &str) -> Result<Self, StoreError> {
        let bytes = Zeroizing::new(
            B64.decode(text.trim())
                .map_err(|_| StoreError::Key(format!("{origin} is not valid base64")))?,
        );
        Self::from_bytes(&bytes).map_err(|e| StoreError::Key(format!("{origin}: {e}")))
    }

    /// Load the key. A missing key file is created only when `may_create` (no secret was ever
    /// sealed); otherwise its absence is an error.
    pub fn load(source: &KeySource, may_create: bool) -> Result<Self, StoreError> {
        match source {
            KeySource::Env(text) => Self::decode(text, "LUMOSFLOW_MASTER_KEY"),
            KeySource::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => Self::decode(&text, &format!("master key file {}", path.display())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => {
                    create_key_file(path)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(StoreError::Key(format!(
                        "the master key file {} is missing, and this database holds secrets sealed with it; \
                     restore the file or set LUMOSFLOW_MASTER_KEY",
                        path.display()
                    )))
                }
                Err(e) => Err(StoreError::Key(format!(
                    "cannot read the master key file {}: {e}",
                    path.display()
                ))),
            },
        }
    }

    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Result<Sealed, StoreError> {
        let nonce = XNonce::generate();
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Key("encryption failed".into()))?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    pub fn open(&self, aad: &str, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let nonce = XNonce::try_from(sealed.nonce.as_slice())
            .map_err(|_| StoreError::Key("a sealed secret has a bad nonce".into()))?;
        self.cipher
            .decrypt(&nonce, Payload { msg: &sealed.ciphertext, aad: aad.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| StoreError::Key("a sealed secret does not open with this master key (wrong key, or the record was tampered with)".into()))
    }

    /// The value stored in the database to recognise this key later.
    pub fn check_value(&self) -> Result<String, StoreError> {
        let s = self.seal("key-check", CHECK_PLAINTEXT)?;
        Ok(format!(
            "{}.{}",
            B64.encode(&s.nonce),
            B64.encode(&s.ciphertext)
        ))
    }

    pub fn verify(&self, check: &str) -> Result<(), StoreError> {
        let (n, c) = check
            .split_once('.')
            .ok_or_else(|| StoreError::Key("the stored key check is corrupt".into()))?;
        let sealed = Sealed {
            nonce: B64
                .decode(n)
                .map_err(|_| StoreError::Key("the stored key check is corrupt".into()))?,
            ciphertext: B64
                .decode(c)
                .map_err(|_| StoreError::Key("the stored key check is corrupt".into()))?,
        };
        match self.open("key-check", &sealed) {
            Ok(p) if p.as_slice() == CHECK_PLAINTEXT => Ok(()),
            _ => Err(StoreError::Key(
                "wrong master key: it does not match the key this database was set up with".into(),
            )),
        }
    }
}

/// Create the key file so that no reader ever sees it half-written: the key is written and
/// synced under a private temporary name, then hard-linked into place, which fails atomically
/// if another process got there first (then theirs is used).
fn create_key_file(path: &Path) -> Result<MasterKey, StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::Key(format!("cannot create {}: {e}", dir.display())))?;
    let key: Zeroizing<[u8; 32]> = Zeroizing::new(Key::generate().into());
    let text = Zeroizing::new(B64.encode(key.as_slice()));
    let cannot_write = |e: std::io::Error| {
        StoreError::Key(format!(
            "cannot write the master key file {}: {e}",
            path.display()
        ))
    };
    let staged = dir.join(format!(
        ".master.key.{}.{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let written = opts
        .open(&staged)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&staged);
        return Err(cannot_write(e));
    }
    let placed = std::fs::hard_link(&staged, path);
    let _ = std::fs::remove_file(&staged);
    match placed {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created a new master key file");
            MasterKey::from_bytes(key.as_slice())
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            MasterKey::load(&KeySource::File(path.to_owned()), false)
        }
        Err(e) => Err(StoreError::Key(format!(
            "cannot create the master key file {}: {e}",
            path.display()
        ))),
    }
}

/// A new random key, base64, for `LUMOSFLOW_MASTER_KEY`.
pub fn generate_key_base64() -> String {
    B64.encode(Key::generate().as_slice())
}
