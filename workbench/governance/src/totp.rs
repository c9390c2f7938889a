//! The second factor: time-based one-time passwords (RFC 6238 over RFC 4226, R18).
//!
//! 30-second steps, 6 digits, HMAC-SHA1: the parameters every authenticator app uses by
//! default, so the `otpauth://` URI printed once at enrolment works in any of them. A
//! code is accepted within a window of steps either side of now, and each step at most
//! once per user: the store keeps the last step used, so a code seen over a shoulder or
//! in a log cannot be replayed.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Length of a step in seconds.
pub const STEP_SECONDS: u64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a secret (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;

/// The time step `unix_seconds` falls in.
pub fn step_of(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// The code of `step` for `secret` (RFC 4226 HOTP with the step as counter).
pub fn code(secret: &[u8], step: u64) -> u32 {
    hotp(secret, step, DIGITS)
}

fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 §5.3).
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    bin % 10u32.pow(digits)
}

/// The step a typed code matches, if any: within `window` steps of `now_step`, and after
/// `last_used` (a step already used is a replay). Codes are compared whole: a code must be
/// exactly six ASCII digits.
pub fn verify(
    secret: &[u8],
    typed: &str,
    now_step: u64,
    window: u32,
    last_used: Option<u64>,
) -> Verified {
    let typed = typed.trim();
    if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Verified::Malformed;
    }
    let Ok(value) = typed.parse::<u32>() else {
        return Verified::Malformed;
    };
    let window = u64::from(window);
    let first = now_step.saturating_sub(window);
    let mut replayed = false;
    for step in first..=now_step + window {
        if code(secret, step) == value {
            if last_used.is_some_and(|last| step <= last) {
                replayed = true;
                continue;
            }
            return Verified::Step(step);
        }
    }
    if replayed {
        Verified::Replayed
    } else {
        Verified::Wrong
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The code of this step, not used before.
    Step(u64),
    /// The code of a step already used.
    Replayed,
    /// No step in the window has this code.
    Wrong,
    /// Not six digits.
    Malformed,
}

/// A fresh random secret.
pub fn new_secret() -> Result<[u8; SECRET_BYTES], getrandom::Error> {
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::fill(&mut secret)?;
    Ok(secret)
}

/// The `otpauth://` URI authenticator apps read (Google Authenticator's key URI format).
pub fn uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let secret = data_encoding::BASE32_NOPAD.encode(secret);
    let label = format!("{}:{}", percent(issuer), percent(account));
    format!(
        "otpauth://totp/{label}?secret={secret}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        percent(issuer)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA-1 seed and its 8-digit codes at the published times.
    #[test]
    fn codes_equal_rfc_6238_appendix_b() {
        let seed = b"12345678901234567890";
        for (time, expected) in [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(seed, step_of(time), 8), expected, "T = {time}");
            assert_eq!(code(seed, step_of(time)), expected % 1_000_000);
        }
    }

    #[test]
    fn a_code_is_taken_once_within_its_window() {
        let secret = b"12345678901234567890";
        let now = step_of(1_234_567_890);
        let typed = format!("{:06}", code(secret, now));
        assert_eq!(verify(secret, &typed, now, 1, None), Verified::Step(now));
        assert_eq!(
            verify(secret, &typed, now, 1, Some(now)),
            Verified::Replayed
        );
        // One step late is inside a window of 1, two steps late is not.
        assert_eq!(
            verify(secret, &typed, now + 1, 1, None),
            Verified::Step(now)
        );
        assert_eq!(verify(secret, &typed, now + 2, 1, None), Verified::Wrong);
        assert_eq!(verify(secret, "12345", now, 1, None), Verified::Malformed);
        assert_eq!(verify(secret, "+12345", now, 1, None), Verified::Malformed);
    }

    #[test]
    fn the_uri_carries_the_secret_in_base32() {
        let uri = uri(b"12345678901234567890", "Workbench", "ana lyst");
        assert_eq!(
            uri,
            "otpauth://totp/Workbench:ana%20lyst?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Workbench&algorithm=SHA1&digits=6&period=30"
        );
    }
}
