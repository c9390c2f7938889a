//! Making a table safe before asking: primary suppression of every cell a check failed,
//! secondary suppression so that no suppressed cell can be recovered from the others of
//! its line and the line's total (shown in the table or published elsewhere), and
//! rounding; with a report of what changed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::table::{Agg, MARGIN, SafeTable};
use super::{Parameters, Verdict, weight};

/// Hides, in every line of cells (equal in every label but one) that holds exactly one
/// hidden inner cell, another inner cell, until no line does; returns how many it hid.
/// The cell chosen is one whose other lines also hold a single hidden cell (it settles
/// them too), else the smallest. Margin cells (`is_margin`) belong to their lines but
/// are never chosen and never count as hiding anything: a total published elsewhere
/// gives the margin back, and with it the one hidden cell.
pub(crate) fn secondary<L: Ord + Clone>(
    labels: &[Vec<L>],
    hidden: &mut [bool],
    size: &dyn Fn(usize) -> f64,
    is_margin: &dyn Fn(usize) -> bool,
) -> usize {
    let dims = labels.first().map_or(0, Vec::len);
    // Per dimension, the lines along it (cells equal in every other label).
    let line_of = |i: usize, dim: usize| -> Vec<L> {
        labels[i]
            .iter()
            .enumerate()
            .filter(|(d, _)| *d != dim)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let lines: Vec<BTreeMap<Vec<L>, Vec<usize>>> = (0..dims)
        .map(|dim| {
            let mut by: BTreeMap<Vec<L>, Vec<usize>> = BTreeMap::new();
            for i in 0..labels.len() {
                by.entry(line_of(i, dim)).or_default().push(i);
            }
            by
        })
        .collect();
    let hidden_inner = |members: &[usize], hidden: &[bool]| {
        members
            .iter()
            .filter(|&&i| hidden[i] && !is_margin(i))
            .count()
    };
    let mut added = 0;
    loop {
        let mut changed = false;
        for dim in 0..dims {
            for members in lines[dim].values() {
                if hidden_inner(members, hidden) != 1 {
                    continue;
                }
                let settles = |i: usize, hidden: &[bool]| {
                    (0..dims).filter(|&d| d != dim).any(|d| {
                        lines[d]
                            .get(&line_of(i, d))
                            .is_some_and(|m| hidden_inner(m, hidden) == 1)
                    })
                };
                let chosen = members
                    .iter()
                    .copied()
                    .filter(|&i| !hidden[i] && !is_margin(i))
                    .min_by(|&a, &b| {
                        settles(b, hidden)
                            .cmp(&settles(a, hidden))
                            .then(size(a).total_cmp(&size(b)))
                    });
                if let Some(i) = chosen {
                    hidden[i] = true;
                    added += 1;
                    changed = true;
                }
            }
        }
        if !changed {
            return added;
        }
    }
}

/// What [`suppress`] changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changes {
    /// Cells suppressed because a check failed them.
    pub primary: usize,
    /// Cells suppressed so that those cannot be recovered.
    pub secondary: usize,
    /// The rounding base, if values were rounded.
    pub rounded_to: Option<u64>,
    /// What changed, for a person.
    pub report: Vec<String>,
}

/// Suppresses every cell whose checks failed (primary), then cells that would give those
/// back through their lines (secondary), and rounds counts and sums to `round` if given.
/// The findings and verdict are made again: suppressed cells no longer disclose.
pub fn suppress(table: &SafeTable, round: Option<u64>, p: &Parameters) -> (SafeTable, Changes) {
    let mut out = table.clone();
    let mut hidden: Vec<bool> = out
        .cells
        .iter()
        .map(|c| c.rules.iter().any(|r| weight(r) == Verdict::Fail))
        .collect();
    let primary = hidden.iter().filter(|&&h| h).count();
    let labels: Vec<Vec<String>> = out
        .cells
        .iter()
        .map(|c| {
            let mut l = c.index.clone();
            l.extend(c.column.clone());
            l
        })
        .collect();
    let cells = out.cells.clone();
    let size = |i: usize| cells[i].value.unwrap_or(0.0);
    let is_margin = |i: usize| {
        cells[i].index.iter().any(|l| l == MARGIN) || cells[i].column.as_deref() == Some(MARGIN)
    };
    let secondary = secondary(&labels, &mut hidden, &size, &is_margin);
    for (cell, &h) in out.cells.iter_mut().zip(&hidden) {
        if h {
            cell.suppressed = Some(if cell.rules.iter().any(|r| weight(r) == Verdict::Fail) {
                "primary"
            } else {
                "secondary"
            });
            cell.value = None;
        }
    }
    let mut report = vec![format!(
        "{primary} cell(s) suppressed by their checks, {secondary} more so that they cannot be recovered from their rows, columns or totals"
    )];
    let rounded_to = round.filter(|_| matches!(table.agg, Agg::Count | Agg::Sum));
    if let Some(base) = rounded_to.filter(|&b| b > 1) {
        let b = base as f64;
        for cell in &mut out.cells {
            cell.value = cell.value.map(|v| (v / b).round() * b);
            // The patients beside a rounded count would give the count back.
            cell.contributors = ((cell.contributors as f64 / b).round() * b) as usize;
        }
        report.push(format!("values rounded to the nearest {base}"));
    } else if round.is_some() {
        report.push(format!(
            "not rounded: rounding applies to counts and sums, not to a {:?}",
            table.agg
        ));
    }
    out.findings = super::table::findings(
        &out.cells
            .iter()
            .filter(|c| c.suppressed.is_none())
            .cloned()
            .collect::<Vec<_>>(),
        p,
    );
    out.verdict = super::verdict_of(&out.findings);
    (
        out,
        Changes {
            primary,
            secondary,
            rounded_to: rounded_to.filter(|&b| b > 1),
            report,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_line_keeps_a_single_hidden_cell() {
        // A 2 × 3 grid, one hidden cell.
        let labels: Vec<Vec<&str>> = [
            ["a", "x"],
            ["a", "y"],
            ["a", "z"],
            ["b", "x"],
            ["b", "y"],
            ["b", "z"],
        ]
        .iter()
        .map(|l| l.to_vec())
        .collect();
        let sizes = [3.0, 20.0, 30.0, 40.0, 50.0, 15.0];
        let mut hidden = vec![true, false, false, false, false, false];
        let added = secondary(&labels, &mut hidden, &|i| sizes[i], &|_| false);
        assert_eq!(added, 3, "{hidden:?}");
        // Column x takes the 40 with it, row a its smallest (20), and row b the cell of
        // column y, which settles that column too: a rectangle.
        assert_eq!(hidden, [true, true, false, true, true, false]);
    }
}
