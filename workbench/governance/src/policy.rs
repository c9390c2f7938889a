//! Policy parameters: the numbers and lists the rules use, as versioned data (R34–R37).
//!
//! The minimum cell count, the embargo's months and triggers, the lock-out count and the
//! list of detailed clinical tables are not constants in code: they are a [`Policy`] the
//! store keeps in numbered versions, each made by a recorded decision (who, when, why).
//! The defaults are the programme's published numbers.

use serde::{Deserialize, Serialize};

/// The parameters of one policy version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Smallest count an aggregate may show (disclosure control of the overview tier).
    pub min_cell_count: u32,
    /// Embargo length when no decision is recorded for a cancer type (R34: 24).
    pub embargo_months_default: u32,
    /// Shortest embargo without the acquirers' and analysts' recorded agreement (R34: 24).
    pub embargo_months_min: u32,
    /// Longest embargo (R34: 36).
    pub embargo_months_max: u32,
    /// Registered cases of a cancer type that start its embargo clock (R34: about 100).
    pub embargo_trigger_cases: u32,
    /// The same for rare cancers, whose own rule R34 allows.
    pub rare_cancer_trigger_cases: u32,
    /// Months from a cancer type's clock start to its public release (R35: about 3 years).
    pub public_release_months: u32,
    /// Consecutive failed logins that lock an account (R18).
    pub lockout_failures: u32,
    /// TOTP steps of 30 s accepted either side of now (clock drift).
    pub totp_window_steps: u32,
    /// Tables holding detailed clinical data (R35: never public; industry needs approval).
    pub detailed_clinical_tables: Vec<String>,
    /// ISO 3166 codes of countries whose institutions may be licensed (R36): Japan and
    /// those its Personal Information Protection Commission recognises as equivalent.
    pub equivalent_countries: Vec<String>,
}

impl Default for Policy {
    fn default() -> Policy {
        // The EU and EEA states and the United Kingdom: the jurisdictions recognised under
        // Article 28 of Japan's Act on the Protection of Personal Information.
        const EQUIVALENT: [&str; 32] = [
            "JP", "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU",
            "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
            "IS", "LI", "NO", "GB",
        ];
        Policy {
            min_cell_count: 10,
            embargo_months_default: 24,
            embargo_months_min: 24,
            embargo_months_max: 36,
            embargo_trigger_cases: 100,
            rare_cancer_trigger_cases: 20,
            public_release_months: 36,
            lockout_failures: 5,
            totp_window_steps: 1,
            detailed_clinical_tables: ["background", "treatments", "course", "adverse_events"]
                .map(str::to_owned)
                .to_vec(),
            equivalent_countries: EQUIVALENT.map(str::to_owned).to_vec(),
        }
    }
}

/// A policy that cannot take effect.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A parameter name the policy does not have.
    #[error("unknown policy parameter {0:?} (known: {known})", known = Policy::NAMES.join(", "))]
    Unknown(String),
    /// A value that does not parse or breaks a bound.
    #[error("policy parameter {name}: {why}")]
    Invalid {
        /// The parameter.
        name: String,
        /// What is wrong.
        why: String,
    },
}

impl Policy {
    /// The parameter names [`Policy::set`] takes.
    pub const NAMES: [&'static str; 11] = [
        "min_cell_count",
        "embargo_months_default",
        "embargo_months_min",
        "embargo_months_max",
        "embargo_trigger_cases",
        "rare_cancer_trigger_cases",
        "public_release_months",
        "lockout_failures",
        "totp_window_steps",
        "detailed_clinical_tables",
        "equivalent_countries",
    ];

    /// Sets one parameter from its text (`24`, or `a,b,c` for lists), then checks the
    /// whole policy.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let invalid = |why: String| Error::Invalid {
            name: name.to_owned(),
            why,
        };
        let number = || -> Result<u32, Error> {
            value
                .trim()
                .parse()
                .map_err(|_| invalid(format!("{value:?} is not a whole number")))
        };
        let list = || -> Vec<String> {
            value
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        match name {
            "min_cell_count" => self.min_cell_count = number()?,
            "embargo_months_default" => self.embargo_months_default = number()?,
            "embargo_months_min" => self.embargo_months_min = number()?,
            "embargo_months_max" => self.embargo_months_max = number()?,
            "embargo_trigger_cases" => self.embargo_trigger_cases = number()?,
            "rare_cancer_trigger_cases" => self.rare_cancer_trigger_cases = number()?,
            "public_release_months" => self.public_release_months = number()?,
            "lockout_failures" => self.lockout_failures = number()?,
            "totp_window_steps" => self.totp_window_steps = number()?,
            "detailed_clinical_tables" => self.detailed_clinical_tables = list(),
            "equivalent_countries" => {
                self.equivalent_countries = list().iter().map(|c| c.to_uppercase()).collect()
            }
            other => return Err(Error::Unknown(other.to_owned())),
        }
        self.check()
    }

    /// Checks the bounds the programme's rules set on the parameters.
    pub fn check(&self) -> Result<(), Error> {
        let fail = |name: &str, why: &str| {
            Err(Error::Invalid {
                name: name.to_owned(),
                why: why.to_owned(),
            })
        };
        // R34: the embargo is at least 24 and at most 36 months; only a recorded
        // per-cancer-type decision may go below 24, never the policy itself.
        if self.embargo_months_min < 24 {
            return fail(
                "embargo_months_min",
                "R34 sets at least 24 months; shorten one cancer type's embargo by a recorded decision instead",
            );
        }
        if self.embargo_months_max > 36 || self.embargo_months_max < self.embargo_months_min {
            return fail(
                "embargo_months_max",
                "must lie between embargo_months_min and 36 (R34)",
            );
        }
        if !(self.embargo_months_min..=self.embargo_months_max)
            .contains(&self.embargo_months_default)
        {
            return fail(
                "embargo_months_default",
                "must lie between embargo_months_min and embargo_months_max",
            );
        }
        for (name, value) in [
            ("min_cell_count", self.min_cell_count),
            ("embargo_trigger_cases", self.embargo_trigger_cases),
            ("rare_cancer_trigger_cases", self.rare_cancer_trigger_cases),
            ("lockout_failures", self.lockout_failures),
        ] {
            if value == 0 {
                return fail(name, "must be at least 1");
            }
        }
        for (name, value) in [
            ("embargo_trigger_cases", self.embargo_trigger_cases),
            ("rare_cancer_trigger_cases", self.rare_cancer_trigger_cases),
        ] {
            if value > 100_000 {
                return fail(name, "more cases than the programme will register");
            }
        }
        // R35: public release comes after the industry embargo, never before it ends.
        if self.public_release_months < self.embargo_months_max {
            return fail(
                "public_release_months",
                "must be at least embargo_months_max: data go public only after every embargo",
            );
        }
        if self.detailed_clinical_tables.is_empty() {
            return fail(
                "detailed_clinical_tables",
                "R35 keeps detailed clinical data from the public: name at least one table",
            );
        }
        if self.totp_window_steps > 2 {
            return fail(
                "totp_window_steps",
                "more than 2 steps (±60 s) weakens the second factor",
            );
        }
        if !self.equivalent_countries.iter().any(|c| c == "JP") {
            return fail("equivalent_countries", "must include JP (R36)");
        }
        Ok(())
    }

    /// Whether `table` holds detailed clinical data.
    pub fn is_detailed_clinical(&self, table: &str) -> bool {
        self.detailed_clinical_tables.iter().any(|t| t == table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_programmes_numbers_and_pass_their_own_checks() {
        let policy = Policy::default();
        assert_eq!(policy.check(), Ok(()));
        assert_eq!(
            (
                policy.embargo_months_min,
                policy.embargo_months_max,
                policy.embargo_trigger_cases
            ),
            (24, 36, 100)
        );
        assert!(policy.is_detailed_clinical("treatments"));
        assert!(!policy.is_detailed_clinical("diagnoses"));
    }

    #[test]
    fn bounds_of_r34_cannot_be_set_away() {
        let mut policy = Policy::default();
        assert!(matches!(
            policy.set("embargo_months_min", "12"),
            Err(Error::Invalid { .. })
        ));
        let mut policy = Policy::default();
        assert!(policy.set("embargo_months_max", "48").is_err());
        let mut policy = Policy::default();
        assert!(policy.set("embargo_months_default", "30").is_ok());
        assert!(policy.set("equivalent_countries", "US").is_err());
        assert!(matches!(
            policy.set("nonsense", "1"),
            Err(Error::Unknown(_))
        ));
        assert!(policy.set("min_cell_count", "ten").is_err());
    }
}
