//! HMAC-SHA256 message signatures.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The signing key from the connection file; an empty key disables signing, as the
/// protocol allows (and as we never configure it).
#[derive(Clone)]
pub struct Key {
    mac: Option<HmacSha256>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Key")
            .field("signing", &self.mac.is_some())
            .finish()
    }
}

/// The connection file names a scheme we do not implement.
#[derive(Debug, thiserror::Error)]
#[error("unsupported signature scheme {0:?}, expected hmac-sha256")]
pub struct UnsupportedScheme(pub String);

impl Key {
    /// A key for `scheme` (`hmac-sha256`) with the connection file's `key` string.
    ///
    /// # Errors
    ///
    /// [`UnsupportedScheme`] for any other scheme.
    pub fn new(key: &str, scheme: &str) -> Result<Key, UnsupportedScheme> {
        if scheme != "hmac-sha256" {
            return Err(UnsupportedScheme(scheme.to_owned()));
        }
        if key.is_empty() {
            return Ok(Key { mac: None });
        }
        let mac =
            HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
        Ok(Key { mac: Some(mac) })
    }

    /// Whether messages are signed.
    pub fn is_signing(&self) -> bool {
        self.mac.is_some()
    }

    /// The hex signature of the four JSON parts (empty when signing is off).
    pub fn sign(&self, parts: [&[u8]; 4]) -> String {
        let Some(mac) = &self.mac else {
            return String::new();
        };
        let mut mac = mac.clone();
        for part in parts {
            mac.update(part);
        }
        to_hex(&mac.finalize().into_bytes())
    }

    /// Whether `signature` (hex) is the signature of `parts`, compared in constant time.
    pub fn verify(&self, signature: &[u8], parts: [&[u8]; 4]) -> bool {
        let Some(mac) = &self.mac else {
            return true;
        };
        let Some(expected) = from_hex(signature) else {
            return false;
        };
        let mut mac = mac.clone();
        for part in parts {
            mac.update(part);
        }
        mac.verify_slice(&expected).is_ok()
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

fn from_hex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTS: [&[u8]; 4] = [br#"{"msg_id":"1"}"#, b"{}", b"{}", br#"{"code":"1+1"}"#];

    #[test]
    fn signs_like_python_hmac() {
        // python3: hmac.new(b"secret", digestmod=sha256) over the four parts.
        let key = Key::new("secret", "hmac-sha256").expect("scheme");
        assert_eq!(
            key.sign(PARTS),
            "8b401df890f3e1a0a11fe0065dc9c527656a04e4c12230f675f0a5b83a2f600c"
        );
        assert!(key.verify(
            b"8b401df890f3e1a0a11fe0065dc9c527656a04e4c12230f675f0a5b83a2f600c",
            PARTS
        ));
    }

    #[test]
    fn rejects_tampering_and_bad_hex() {
        let key = Key::new("secret", "hmac-sha256").expect("scheme");
        let good = key.sign(PARTS);
        let tampered = [
            PARTS[0],
            PARTS[1],
            PARTS[2],
            br#"{"code":"1+2"}"#.as_slice(),
        ];
        assert!(!key.verify(good.as_bytes(), tampered));
        assert!(!key.verify(b"zz", PARTS));
        assert!(!key.verify(b"", PARTS));
        let other = Key::new("other", "hmac-sha256").expect("scheme");
        assert!(!other.verify(good.as_bytes(), PARTS));
    }

    #[test]
    fn empty_key_means_unsigned_and_other_schemes_are_refused() {
        let key = Key::new("", "hmac-sha256").expect("scheme");
        assert!(!key.is_signing());
        assert_eq!(key.sign(PARTS), "");
        assert!(Key::new("k", "hmac-md5").is_err());
        assert!(
            !format!("{:?}", Key::new("secret", "hmac-sha256").expect("scheme")).contains("secret")
        );
    }
}
