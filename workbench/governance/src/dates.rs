//! ISO dates in serialised records, without chrono's serde feature (which would rebuild
//! every crate that uses chrono, polars among them, for one format).

use chrono::NaiveDate;
use serde::Serializer;

/// A date as `YYYY-MM-DD`.
pub(crate) fn iso<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(date)
}

/// An optional date as `YYYY-MM-DD` or null.
pub(crate) fn iso_opt<S: Serializer>(date: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
    match date {
        Some(d) => s.collect_str(d),
        None => s.serialize_none(),
    }
}

/// Dated pairs as `[name, YYYY-MM-DD]`.
pub(crate) fn iso_pairs<S: Serializer>(
    pairs: &[(String, NaiveDate)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(pairs.len()))?;
    for (name, date) in pairs {
        seq.serialize_element(&(name, date.to_string()))?;
    }
    seq.end()
}
