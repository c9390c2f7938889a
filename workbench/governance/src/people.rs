//! People: roles, institutions, passwords (argon2id) and the login decision (R18, R33–R37).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::Serialize;

use crate::consent::Forum;
use crate::totp::Verified;
use crate::{Decision, Policy, Rule};

/// What a person does in the programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Academic forum: a data acquirer, whose institution's cases others need agreement for.
    Acquirer,
    /// Academic forum: a data analyst.
    Analyst,
    /// Industry forum: an approved industry user.
    Industry,
    /// A trainer running genomic-literacy tutorials (academic forum terms).
    Trainer,
    /// An analyst reproducing pipeline runs (academic forum terms).
    Pipeline,
    /// A member of the Data Access Review Committee (R37).
    Committee,
    /// An enclave administrator.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 7] = [
        Self::Acquirer,
        Self::Analyst,
        Self::Industry,
        Self::Trainer,
        Self::Pipeline,
        Self::Committee,
        Self::Admin,
    ];

    /// The name on the command line (`acquirer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acquirer => "acquirer",
            Self::Analyst => "analyst",
            Self::Industry => "industry",
            Self::Trainer => "trainer",
            Self::Pipeline => "pipeline",
            Self::Committee => "committee",
            Self::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(name: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The forum whose terms the role uses data under; `None` for roles that see no data
    /// (committee members review requests, admins run the enclave).
    pub fn forum(self) -> Option<Forum> {
        match self {
            Self::Acquirer | Self::Analyst | Self::Trainer | Self::Pipeline => {
                Some(Forum::Academic)
            }
            Self::Industry => Some(Forum::Industry),
            Self::Committee | Self::Admin => None,
        }
    }
}

/// Sex as the committee's composition rule needs it (R37).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
}

impl Sex {
    /// `female` or `male`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Female => "female",
            Self::Male => "male",
        }
    }

    /// Parses `female` or `male`.
    pub fn parse(text: &str) -> Option<Sex> {
        [Self::Female, Self::Male]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A user as the store records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Institution.
    pub institution: String,
    /// Company, for industry users.
    pub company: Option<String>,
    /// Sex, where recorded (required for committee members).
    pub sex: Option<Sex>,
    /// Disabled by an admin.
    pub disabled: bool,
    /// Consecutive failed logins.
    pub failures: u32,
    /// Locked after too many failures.
    pub locked: bool,
    /// The last TOTP step accepted (replay protection).
    #[serde(skip)]
    pub last_totp_step: Option<u64>,
}

/// Hashes a password with argon2id (the argon2 crate's defaults: OWASP's 19 MiB, t = 2,
/// p = 1) and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| format!("hashing the password: {e}"))
}

/// Whether `password` matches the stored PHC string.
pub fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// What a login attempt changes in the user's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing (unknown user, or already locked or disabled).
    None,
    /// A failure: the count grows, and the account locks when `locks`.
    Failure {
        /// Whether this failure reaches the lock-out count.
        locks: bool,
    },
    /// Success: failures reset, the TOTP step recorded as used.
    Success {
        /// The TOTP step used.
        step: u64,
    },
}

/// Decides a login: `user` as stored (`None`: unknown), whether the password matched,
/// and what the TOTP check found (`None`: no code given).
pub fn login(
    user: Option<&User>,
    password_ok: bool,
    totp: Option<Verified>,
    policy: &Policy,
) -> (Decision, Effect) {
    let Some(user) = user else {
        return (
            Decision::deny(Rule::Credentials, "unknown user or wrong password"),
            Effect::None,
        );
    };
    if user.disabled {
        return (
            Decision::deny(Rule::Disabled, "the account is disabled"),
            Effect::None,
        );
    }
    if user.locked {
        return (
            Decision::deny(
                Rule::LockedOut,
                "the account is locked after repeated failed logins; an admin must unlock it",
            ),
            Effect::None,
        );
    }
    let failure = |rule: Rule, reason: &str| {
        let locks = user.failures + 1 >= policy.lockout_failures;
        let reason = if locks {
            format!(
                "{reason}; the account is now locked after {} failed logins",
                policy.lockout_failures
            )
        } else {
            reason.to_owned()
        };
        (Decision::deny(rule, reason), Effect::Failure { locks })
    };
    if !password_ok {
        return failure(Rule::Credentials, "unknown user or wrong password");
    }
    match totp {
        None => failure(
            Rule::SecondFactor,
            "a second factor is required: give the 6-digit code of your authenticator (--totp)",
        ),
        Some(Verified::Malformed) => failure(
            Rule::SecondFactor,
            "the second factor must be the 6 digits your authenticator shows",
        ),
        Some(Verified::Wrong) => failure(
            Rule::SecondFactor,
            "the code is wrong or outside its 30-second window",
        ),
        Some(Verified::Replayed) => failure(
            Rule::TotpReplay,
            "this code was already used; wait for the next one",
        ),
        Some(Verified::Step(step)) => (
            Decision::allow(Rule::Login, format!("{} logged in", user.name)),
            Effect::Success { step },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyst() -> User {
        User {
            name: "ana".into(),
            role: Role::Analyst,
            institution: "Hospital A".into(),
            company: None,
            sex: None,
            disabled: false,
            failures: 0,
            locked: false,
            last_totp_step: None,
        }
    }

    #[test]
    fn passwords_are_argon2id_phc_strings() {
        let phc = hash_password("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(password_matches("correct horse", &phc));
        assert!(!password_matches("correct hors", &phc));
        assert!(!password_matches("correct horse", "not a phc string"));
        // A new salt each time.
        assert_ne!(phc, hash_password("correct horse").expect("hash"));
    }

    #[test]
    fn the_lock_out_count_locks_and_a_locked_user_cannot_log_in() {
        let policy = Policy::default();
        let mut user = analyst();
        user.failures = policy.lockout_failures - 2;
        let (d, e) = login(Some(&user), false, Some(Verified::Step(1)), &policy);
        assert_eq!(
            (d.rule, e),
            (Rule::Credentials, Effect::Failure { locks: false })
        );
        user.failures += 1;
        let (d, e) = login(Some(&user), true, Some(Verified::Wrong), &policy);
        assert_eq!(
            (d.rule, e),
            (Rule::SecondFactor, Effect::Failure { locks: true })
        );
        assert!(d.reason.contains("locked"), "{}", d.reason);
        user.locked = true;
        let (d, e) = login(Some(&user), true, Some(Verified::Step(9)), &policy);
        assert_eq!(
            (d.rule, d.allowed, e),
            (Rule::LockedOut, false, Effect::None)
        );
    }

    #[test]
    fn both_factors_are_needed() {
        let policy = Policy::default();
        let user = analyst();
        assert_eq!(
            login(Some(&user), true, None, &policy).0.rule,
            Rule::SecondFactor
        );
        assert_eq!(
            login(Some(&user), true, Some(Verified::Replayed), &policy)
                .0
                .rule,
            Rule::TotpReplay
        );
        assert_eq!(
            login(None, true, Some(Verified::Step(1)), &policy).0.rule,
            Rule::Credentials
        );
        let (d, e) = login(Some(&user), true, Some(Verified::Step(7)), &policy);
        assert!(d.allowed);
        assert_eq!(e, Effect::Success { step: 7 });
        let mut disabled = analyst();
        disabled.disabled = true;
        assert_eq!(
            login(Some(&disabled), true, Some(Verified::Step(7)), &policy)
                .0
                .rule,
            Rule::Disabled
        );
    }
}
