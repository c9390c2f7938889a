//! The embargo clock of the industry forum (R34) and the public release date (R35).
//!
//! Per cancer type: the clock starts on the registration date of its `trigger`-th case
//! (100, or the rare-cancer count), and industry publication waits until `start + N
//! months`, N between 24 and 36 (24 unless a decision is recorded). A recorded decision
//! naming the data acquirers and analysts who agreed may go below 24. Month arithmetic
//! is the calendar's: 31 January + 1 month is the last day of February. The embargo is
//! over on the end date itself. Patent filings are never blocked.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use serde::Serialize;

use crate::{Decision, Policy, Rule};

/// One registered case, as the clock needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration<'a> {
    /// OncoTree code.
    pub cancer_type: &'a str,
    /// Registration date.
    pub registered_on: NaiveDate,
    /// Whether the case's cancer is rare under the programme's rule.
    pub rare: bool,
}

/// A recorded embargo length for a cancer type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Length {
    /// OncoTree code.
    pub cancer_type: String,
    /// Months.
    pub months: u32,
    /// Users (acquirers and analysts) who agreed to a length below the minimum.
    pub agreed_by: Vec<String>,
    /// Who recorded it.
    pub by: String,
    /// When.
    #[serde(serialize_with = "crate::dates::iso")]
    pub on: NaiveDate,
}

/// Where a cancer type's clock stands on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Fewer cases than the trigger: the clock has not started; publication waits.
    NotStarted,
    /// Started, not yet over.
    Embargoed,
    /// Over: industry may publish.
    Ended,
}

/// A cancer type's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clock {
    /// OncoTree code.
    pub cancer_type: String,
    /// Registered cases (up to the date asked).
    pub cases: u32,
    /// Whether the type counts as rare (any of its cases is flagged rare).
    pub rare: bool,
    /// Cases that start the clock.
    pub trigger: u32,
    /// Start: the trigger-th registration date.
    #[serde(serialize_with = "crate::dates::iso_opt")]
    pub start: Option<NaiveDate>,
    /// Embargo length in months.
    pub months: u32,
    /// Whether the length is a recorded shortening below the minimum.
    pub shortened: bool,
    /// End: start + months.
    #[serde(serialize_with = "crate::dates::iso_opt")]
    pub end: Option<NaiveDate>,
    /// Public release (R35): start + the policy's public-release months.
    #[serde(serialize_with = "crate::dates::iso_opt")]
    pub public_on: Option<NaiveDate>,
    /// Status on the date asked.
    pub status: Status,
}

/// `date` + `months` calendar months, clamped to the month's last day.
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// The clocks of every cancer type in `registrations` on `on`: only cases registered on
/// or before `on` count. `lengths` are the recorded decisions, latest last; the latest
/// for a type recorded on or before `on` wins.
pub fn clocks<'a>(
    registrations: impl IntoIterator<Item = Registration<'a>>,
    lengths: &[Length],
    policy: &Policy,
    on: NaiveDate,
) -> Vec<Clock> {
    let mut by_type: BTreeMap<&str, (Vec<NaiveDate>, bool)> = BTreeMap::new();
    for r in registrations {
        let entry = by_type.entry(r.cancer_type).or_default();
        entry.1 |= r.rare;
        if r.registered_on <= on {
            entry.0.push(r.registered_on);
        }
    }
    by_type
        .into_iter()
        .map(|(cancer_type, (mut dates, rare))| {
            dates.sort_unstable();
            let trigger = if rare {
                policy.rare_cancer_trigger_cases
            } else {
                policy.embargo_trigger_cases
            };
            let start = usize::try_from(trigger)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| dates.get(i).copied());
            // A length decided after `on` does not rewrite what held on `on`.
            let recorded = lengths
                .iter()
                .rev()
                .find(|l| l.cancer_type == cancer_type && l.on <= on);
            let months = recorded.map_or(policy.embargo_months_default, |l| l.months);
            let end = start.map(|s| add_months(s, months));
            let status = match end {
                None => Status::NotStarted,
                Some(end) if on < end => Status::Embargoed,
                Some(_) => Status::Ended,
            };
            Clock {
                cancer_type: cancer_type.to_owned(),
                cases: u32::try_from(dates.len()).unwrap_or(u32::MAX),
                rare,
                trigger,
                start,
                months,
                shortened: months < policy.embargo_months_min,
                end,
                public_on: start.map(|s| add_months(s, policy.public_release_months)),
                status,
            }
        })
        .collect()
}

/// What kind of release an export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Release {
    /// A publication: industry waits for the embargo.
    Publication,
    /// A patent filing: never blocked (R34).
    Patent,
}

/// Whether an industry release drawing on `cancer_types` may leave on the clocks' date.
pub fn decide_release(clocks: &[Clock], cancer_types: &[&str], release: Release) -> Decision {
    if release == Release::Patent {
        return Decision::allow(
            Rule::Patent,
            "patent filings are never blocked by the embargo",
        );
    }
    for cancer_type in cancer_types {
        let Some(clock) = clocks.iter().find(|c| c.cancer_type == *cancer_type) else {
            return Decision::deny(
                Rule::Embargo,
                format!("{cancer_type}: no registered cases, so its embargo clock has not started"),
            );
        };
        match (clock.status, clock.end) {
            (Status::Ended, _) => {}
            (Status::Embargoed, Some(end)) => {
                return Decision::deny(
                    Rule::Embargo,
                    format!(
                        "{cancer_type} is under embargo until {end} ({} months from its {}th case on {})",
                        clock.months,
                        clock.trigger,
                        clock.start.map_or_else(String::new, |d| d.to_string())
                    ),
                );
            }
            _ => {
                return Decision::deny(
                    Rule::Embargo,
                    format!(
                        "{cancer_type} has {} of the {} cases that start its embargo clock",
                        clock.cases, clock.trigger
                    ),
                );
            }
        }
    }
    Decision::allow(
        Rule::Embargo,
        format!(
            "the embargo has ended for {}",
            if cancer_types.is_empty() {
                "every cancer type drawn on".to_owned()
            } else {
                cancer_types.join(", ")
            }
        ),
    )
}

/// Whether a length may be recorded: within the policy's bounds, or below the minimum
/// with at least one data acquirer and one data analyst named as agreeing.
pub fn decide_length(
    months: u32,
    acquirers_agreeing: usize,
    analysts_agreeing: usize,
    policy: &Policy,
) -> Decision {
    if months == 0 {
        return Decision::deny(Rule::Embargo, "an embargo of 0 months is no decision");
    }
    if months > policy.embargo_months_max {
        return Decision::deny(
            Rule::Embargo,
            format!(
                "the embargo is at most {} months (R34)",
                policy.embargo_months_max
            ),
        );
    }
    if months >= policy.embargo_months_min {
        return Decision::allow(
            Rule::Embargo,
            format!("{months} months lies within the policy's bounds"),
        );
    }
    if acquirers_agreeing == 0 || analysts_agreeing == 0 {
        return Decision::deny(
            Rule::EmbargoShortened,
            format!(
                "below {} months only when data acquirers and data analysts agree: name at least one of each (--agreed-by)",
                policy.embargo_months_min
            ),
        );
    }
    Decision::allow(
        Rule::EmbargoShortened,
        format!(
            "shortened to {months} months with {acquirers_agreeing} acquirer(s) and {analysts_agreeing} analyst(s) agreeing"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    /// The calendar computed directly: months counted on a year×12+month line, the day
    /// clamped to the target month's length.
    fn direct_add_months(date: NaiveDate, months: u32) -> NaiveDate {
        use chrono::Datelike;
        let index = date.year() * 12
            + i32::try_from(date.month0()).expect("month")
            + i32::try_from(months).expect("months");
        let (year, month) = (
            index.div_euclid(12),
            u32::try_from(index.rem_euclid(12)).expect("m") + 1,
        );
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let length = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        NaiveDate::from_ymd_opt(year, month, date.day().min(length)).expect("valid")
    }

    fn regs(dates: &[NaiveDate], rare: bool) -> Vec<Registration<'static>> {
        dates
            .iter()
            .map(|&registered_on| Registration {
                cancer_type: "LUAD",
                registered_on,
                rare,
            })
            .collect()
    }

    #[test]
    fn month_ends_and_leap_days_follow_the_calendar() {
        assert_eq!(add_months(day("2024-02-29"), 24), day("2026-02-28"));
        assert_eq!(add_months(day("2024-02-29"), 48), day("2028-02-29"));
        assert_eq!(add_months(day("2023-01-31"), 13), day("2024-02-29"));
        assert_eq!(add_months(day("2023-08-31"), 36), day("2026-08-31"));
    }

    #[test]
    fn the_hundredth_case_starts_the_clock() {
        let policy = Policy::default();
        let first = day("2024-01-01");
        let dates: Vec<_> = (0..100).map(|i| first + chrono::Days::new(i)).collect();
        let hundredth = dates[99];
        let on = day("2030-01-01");
        let clock = &clocks(regs(&dates, false), &[], &policy, on)[0];
        assert_eq!(clock.start, Some(hundredth));
        assert_eq!(clock.end, Some(add_months(hundredth, 24)));
        let before = &clocks(regs(&dates[..99], false), &[], &policy, on)[0];
        assert_eq!((before.start, before.status), (None, Status::NotStarted));
        // Rare cancers start at their own count.
        let rare = &clocks(regs(&dates[..20], true), &[], &policy, on)[0];
        assert_eq!(rare.start, Some(dates[19]));
    }

    #[test]
    fn patents_pass_and_publications_wait() {
        let policy = Policy::default();
        let dates = vec![day("2025-06-01"); 100];
        let cs = clocks(regs(&dates, false), &[], &policy, day("2026-12-01"));
        assert!(!decide_release(&cs, &["LUAD"], Release::Publication).allowed);
        assert!(decide_release(&cs, &["LUAD"], Release::Patent).allowed);
        assert!(!decide_release(&cs, &["PAAD"], Release::Publication).allowed);
        let later = clocks(regs(&dates, false), &[], &policy, day("2027-06-01"));
        assert!(decide_release(&later, &["LUAD"], Release::Publication).allowed);
    }

    #[test]
    fn shortening_below_24_needs_acquirers_and_analysts() {
        let policy = Policy::default();
        assert!(!decide_length(12, 1, 0, &policy).allowed);
        assert!(!decide_length(12, 0, 1, &policy).allowed);
        assert!(decide_length(12, 1, 1, &policy).allowed);
        assert!(decide_length(30, 0, 0, &policy).allowed);
        assert!(!decide_length(37, 3, 3, &policy).allowed);
    }

    proptest! {
        #[test]
        fn add_months_is_the_direct_calendar(days in 0u32..40_000, months in 0u32..=60) {
            let date = day("1990-01-01") + chrono::Days::new(u64::from(days));
            prop_assert_eq!(add_months(date, months), direct_add_months(date, months));
        }

        /// The clock against a direct computation: the trigger-th date, start + N months,
        /// status on the day before the end, on it, and after it; lengths of 24 and 36,
        /// shortened ones, and the rare-cancer trigger.
        #[test]
        fn the_clock_is_its_definition(
            offsets in proptest::collection::vec(0u32..2_000, 1..140),
            rare in any::<bool>(),
            months in prop_oneof![Just(24u32), Just(36u32), 24u32..=36, 1u32..24],
            first in 0u32..3_000,
            probe in -2i64..=2,
        ) {
            let policy = Policy::default();
            let base = day("2019-01-31") + chrono::Days::new(u64::from(first));
            let dates: Vec<NaiveDate> = offsets.iter().map(|&o| base + chrono::Days::new(u64::from(o))).collect();
            let lengths = vec![Length {
                cancer_type: "LUAD".into(),
                months,
                agreed_by: vec![],
                by: "committee".into(),
                on: base,
            }];
            let mut sorted = dates.clone();
            sorted.sort();
            let trigger = if rare { 20 } else { 100 };
            let start = sorted.get(trigger - 1).copied();
            let end = start.map(|s| direct_add_months(s, months));
            let on = match end {
                Some(end) => end + chrono::TimeDelta::days(probe),
                None => day("2040-01-01"),
            };
            let clock = clocks(regs(&dates, rare), &lengths, &policy, on).remove(0);
            prop_assert_eq!(clock.start, start);
            prop_assert_eq!(clock.end, end);
            prop_assert_eq!(clock.shortened, months < 24);
            let expected = match end {
                None => Status::NotStarted,
                Some(end) if on < end => Status::Embargoed,
                Some(_) => Status::Ended,
            };
            prop_assert_eq!(clock.status, expected);
            prop_assert_eq!(
                decide_release(std::slice::from_ref(&clock), &["LUAD"], Release::Publication).allowed,
                expected == Status::Ended
            );
        }
    }
}
