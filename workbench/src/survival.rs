//! Survival analysis: Kaplan–Meier estimates, the log-rank test and their figure.
//!
//! Times are days from diagnosis (the lake's index date); an observation is an event
//! (death) or censored at its time. The estimator and the test follow the textbook
//! definitions (Kaplan & Meier 1958; Mantel's log-rank with the hypergeometric variance),
//! the same that R's `survival` and Python's `lifelines` implement.

use std::fmt::Write as _;

use plotters::prelude::*;

use crate::display::{Html, Render, Svg, escape};

/// One subject: time under observation and whether it ended in the event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Days from diagnosis to the event or to censoring.
    pub time: f64,
    /// True for the event (death), false when censored.
    pub event: bool,
}

/// One step of the Kaplan–Meier curve, at a time with at least one event or censoring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The time.
    pub time: f64,
    /// Subjects at risk just before `time`.
    pub at_risk: usize,
    /// Events at `time`.
    pub events: usize,
    /// Subjects censored at `time`.
    pub censored: usize,
    /// Survival probability after `time`.
    pub survival: f64,
    /// Greenwood standard error of `survival`.
    pub std_error: f64,
}

/// A Kaplan–Meier estimate for one group.
#[derive(Debug, Clone, PartialEq)]
pub struct KaplanMeier {
    /// The group's label.
    pub label: String,
    /// Subjects in the group.
    pub n: usize,
    /// Steps in time order.
    pub steps: Vec<Step>,
}

/// Why an estimate cannot be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// A time is negative or not a number.
    #[error("observation {index}: time {time} is not a non-negative number of days")]
    BadTime {
        /// 0-based index of the observation.
        index: usize,
        /// The time.
        time: f64,
    },
    /// The log-rank test needs at least two non-empty groups.
    #[error("the log-rank test needs at least two groups with subjects, got {0}")]
    TooFewGroups(usize),
}

impl KaplanMeier {
    /// Estimates the survival function of `observations`.
    ///
    /// # Errors
    ///
    /// [`Error::BadTime`] for a negative or non-finite time.
    pub fn fit(label: &str, observations: &[Observation]) -> Result<KaplanMeier, Error> {
        check(observations)?;
        let mut sorted = observations.to_vec();
        sorted.sort_by(|a, b| a.time.total_cmp(&b.time));
        let mut steps = Vec::new();
        let (mut survival, mut greenwood) = (1.0f64, 0.0f64);
        let mut at_risk = sorted.len();
        let mut i = 0;
        while i < sorted.len() {
            let time = sorted[i].time;
            let (mut events, mut censored) = (0, 0);
            while i < sorted.len() && sorted[i].time == time {
                if sorted[i].event {
                    events += 1;
                } else {
                    censored += 1;
                }
                i += 1;
            }
            if events > 0 {
                let (n, d) = (at_risk as f64, events as f64);
                survival *= 1.0 - d / n;
                if at_risk > events {
                    greenwood += d / (n * (n - d));
                }
            }
            steps.push(Step {
                time,
                at_risk,
                events,
                censored,
                survival,
                std_error: survival * greenwood.sqrt(),
            });
            at_risk -= events + censored;
        }
        Ok(KaplanMeier {
            label: label.to_owned(),
            n: sorted.len(),
            steps,
        })
    }

    /// Survival probability just after `time`.
    pub fn survival_at(&self, time: f64) -> f64 {
        self.steps
            .iter()
            .take_while(|s| s.time <= time)
            .last()
            .map_or(1.0, |s| s.survival)
    }

    /// Subjects still at risk at `time` (observed for at least `time` days).
    pub fn at_risk_at(&self, time: f64) -> usize {
        match self.steps.iter().find(|s| s.time >= time) {
            Some(step) => step.at_risk,
            None => 0,
        }
    }

    /// Median survival: the first time the curve reaches 0.5 or below; `None` while it
    /// stays above (the median is not reached).
    pub fn median(&self) -> Option<f64> {
        self.steps
            .iter()
            .find(|s| s.events > 0 && s.survival <= 0.5)
            .map(|s| s.time)
    }

    /// Events in the group.
    pub fn events(&self) -> usize {
        self.steps.iter().map(|s| s.events).sum()
    }
}

fn check(observations: &[Observation]) -> Result<(), Error> {
    match observations
        .iter()
        .enumerate()
        .find(|(_, o)| !o.time.is_finite() || o.time < 0.0)
    {
        Some((index, o)) => Err(Error::BadTime {
            index,
            time: o.time,
        }),
        None => Ok(()),
    }
}

/// The log-rank test of equal survival across groups.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRank {
    /// The chi-square statistic.
    pub statistic: f64,
    /// Degrees of freedom (groups − 1).
    pub degrees_of_freedom: usize,
    /// The p-value.
    pub p_value: f64,
    /// Observed events per group.
    pub observed: Vec<f64>,
    /// Expected events per group under equal survival.
    pub expected: Vec<f64>,
}

/// Tests whether `groups` have equal survival (Mantel's log-rank test).
///
/// # Errors
///
/// [`Error::TooFewGroups`] with fewer than two non-empty groups, [`Error::BadTime`].
pub fn log_rank(groups: &[&[Observation]]) -> Result<LogRank, Error> {
    let groups: Vec<&[Observation]> = groups.iter().copied().filter(|g| !g.is_empty()).collect();
    if groups.len() < 2 {
        return Err(Error::TooFewGroups(groups.len()));
    }
    for group in &groups {
        check(group)?;
    }
    let k = groups.len();
    let mut times: Vec<f64> = groups
        .iter()
        .flat_map(|g| g.iter().filter(|o| o.event).map(|o| o.time))
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let mut observed = vec![0.0; k];
    let mut expected = vec![0.0; k];
    let mut variance = vec![vec![0.0; k]; k];
    for &t in &times {
        let at_risk: Vec<f64> = groups
            .iter()
            .map(|g| g.iter().filter(|o| o.time >= t).count() as f64)
            .collect();
        let deaths: Vec<f64> = groups
            .iter()
            .map(|g| g.iter().filter(|o| o.event && o.time == t).count() as f64)
            .collect();
        let n: f64 = at_risk.iter().sum();
        let d: f64 = deaths.iter().sum();
        for g in 0..k {
            observed[g] += deaths[g];
            expected[g] += d * at_risk[g] / n;
        }
        if n > 1.0 {
            let factor = d * (n - d) / (n - 1.0);
            for g in 0..k {
                for h in 0..k {
                    let delta = if g == h { 1.0 } else { 0.0 };
                    variance[g][h] += factor * at_risk[g] / n * (delta - at_risk[h] / n);
                }
            }
        }
    }
    // The statistic uses the first k−1 groups (the k-th is determined by them).
    let m = k - 1;
    let diff: Vec<f64> = (0..m).map(|g| observed[g] - expected[g]).collect();
    let v: Vec<Vec<f64>> = (0..m).map(|g| variance[g][..m].to_vec()).collect();
    let statistic = quadratic_form_inverse(&v, &diff);
    Ok(LogRank {
        statistic,
        degrees_of_freedom: m,
        p_value: chi_square_sf(statistic, m as f64),
        observed,
        expected,
    })
}

/// `x' A⁻¹ x` by Gaussian elimination with partial pivoting; a singular matrix (no
/// information) gives 0.
fn quadratic_form_inverse(a: &[Vec<f64>], x: &[f64]) -> f64 {
    let m = x.len();
    let mut aug: Vec<Vec<f64>> = (0..m)
        .map(|i| {
            let mut row = a[i].clone();
            row.push(x[i]);
            row
        })
        .collect();
    for col in 0..m {
        let pivot = (col..m)
            .max_by(|&i, &j| aug[i][col].abs().total_cmp(&aug[j][col].abs()))
            .expect("a non-empty range");
        if aug[pivot][col].abs() < 1e-12 {
            return 0.0;
        }
        aug.swap(col, pivot);
        let pivot_row = aug[col].clone();
        for (row, values) in aug.iter_mut().enumerate() {
            if row != col {
                let f = values[col] / pivot_row[col];
                for (value, pivot_value) in values[col..].iter_mut().zip(&pivot_row[col..]) {
                    *value -= f * pivot_value;
                }
            }
        }
    }
    (0..m).map(|i| x[i] * aug[i][m] / aug[i][i]).sum()
}

/// P(X > x) for a chi-square variable with `k` degrees of freedom.
pub fn chi_square_sf(x: f64, k: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    upper_incomplete_gamma(k / 2.0, x / 2.0)
}

/// The regularised upper incomplete gamma function Q(a, x): a series below a + 1, a
/// continued fraction (modified Lentz) above.
fn upper_incomplete_gamma(a: f64, x: f64) -> f64 {
    let log_prefix = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let (mut sum, mut term, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        1.0 - sum * log_prefix.exp()
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-15 {
                break;
            }
        }
        log_prefix.exp() * h
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9).
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = G[1..]
        .iter()
        .enumerate()
        .fold(G[0], |acc, (i, g)| acc + g / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// Kaplan–Meier curves of several groups, with their log-rank test when there are two
/// or more.
#[derive(Debug, Clone, PartialEq)]
pub struct Survival {
    /// One estimate per group.
    pub curves: Vec<KaplanMeier>,
    /// The log-rank test across groups.
    pub log_rank: Option<LogRank>,
}

impl Survival {
    /// Fits every group and tests them against each other.
    ///
    /// # Errors
    ///
    /// [`Error::BadTime`] for an unusable time.
    pub fn fit(groups: &[(String, Vec<Observation>)]) -> Result<Survival, Error> {
        let curves = groups
            .iter()
            .map(|(label, obs)| KaplanMeier::fit(label, obs))
            .collect::<Result<Vec<_>, _>>()?;
        let slices: Vec<&[Observation]> = groups.iter().map(|(_, o)| o.as_slice()).collect();
        let log_rank = match log_rank(&slices) {
            Ok(test) => Some(test),
            Err(Error::TooFewGroups(_)) => None,
            Err(other) => return Err(other),
        };
        Ok(Survival { curves, log_rank })
    }

    /// The Kaplan–Meier figure: one step curve per group with censoring marks, axis
    /// titles with units, a legend, numbers at risk below and the log-rank p-value.
    pub fn plot(&self, title: &str) -> Svg {
        let mut svg = String::new();
        let groups = self.curves.len().max(1);
        let height = 430 + 22 * groups as u32;
        let max_time = self
            .curves
            .iter()
            .flat_map(|c| c.steps.last().map(|s| s.time))
            .fold(0.0f64, f64::max)
            .max(1.0);
        let ticks = time_ticks(max_time);
        {
            let root = SVGBackend::with_string(&mut svg, (820, height)).into_drawing_area();
            // Drawing into a String cannot fail on I/O; a plotting error would leave an
            // incomplete figure, which the text alternative still describes.
            let _ = root.fill(&WHITE);
            let (chart_area, table_area) = root.split_vertically(400);
            let caption = match &self.log_rank {
                Some(test) => format!("{title} (log-rank p = {})", format_p(test.p_value)),
                None => title.to_owned(),
            };
            if let Ok(mut chart) = ChartBuilder::on(&chart_area)
                .caption(caption, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..max_time * 1.02, 0.0..1.02)
            {
                let _ = chart
                    .configure_mesh()
                    .x_desc("days since diagnosis")
                    .y_desc("survival probability")
                    .x_labels(8)
                    .y_labels(6)
                    .draw();
                for (i, curve) in self.curves.iter().enumerate() {
                    let color = Palette99::pick(i).to_rgba();
                    let mut points = vec![(0.0, 1.0)];
                    let mut last = 1.0;
                    for step in &curve.steps {
                        points.push((step.time, last));
                        points.push((step.time, step.survival));
                        last = step.survival;
                    }
                    let label = format!(
                        "{} (n = {}, events = {})",
                        curve.label,
                        curve.n,
                        curve.events()
                    );
                    if let Ok(series) =
                        chart.draw_series(LineSeries::new(points, color.stroke_width(2)))
                    {
                        series.label(label).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                        });
                    }
                    let _ =
                        chart.draw_series(
                            curve.steps.iter().filter(|s| s.censored > 0).map(|s| {
                                Cross::new((s.time, s.survival), 3, color.stroke_width(1))
                            }),
                        );
                }
                let _ = chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .position(SeriesLabelPosition::UpperRight)
                    .draw();
            }
            // Numbers at risk, aligned under the x axis ticks.
            let left = 12 + 60;
            let plot_width = 820.0 - left as f64 - 12.0;
            let _ = table_area.draw(&Text::new(
                "number at risk",
                (8, 6),
                ("sans-serif", 13).into_font(),
            ));
            for (i, curve) in self.curves.iter().enumerate() {
                let y = 26 + 20 * i as i32;
                let color = Palette99::pick(i).to_rgba();
                let _ = table_area.draw(&Text::new(
                    curve.label.clone(),
                    (8, y),
                    ("sans-serif", 12).into_font().color(&color),
                ));
                for &t in &ticks {
                    let x = left + (t / (max_time * 1.02) * plot_width) as i32;
                    let _ = table_area.draw(&Text::new(
                        curve.at_risk_at(t).to_string(),
                        (x, y),
                        ("sans-serif", 12).into_font(),
                    ));
                }
            }
            let _ = root.present();
        }
        Svg {
            svg,
            text: format!("Kaplan–Meier: {title}"),
        }
    }

    /// The summary table: per group n, events, median with the log-rank result.
    pub fn table(&self) -> Html {
        let mut html = String::from(
            "<table class=\"dataframe\"><thead><tr><th>group</th><th>n</th><th>events</th>\
             <th>median survival (days)</th></tr></thead><tbody>",
        );
        let mut text = String::new();
        for curve in &self.curves {
            let median = curve
                .median()
                .map_or_else(|| "not reached".to_owned(), |m| format!("{m:.0}"));
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&curve.label),
                curve.n,
                curve.events(),
                median
            );
            let _ = writeln!(
                text,
                "{}: n = {}, events = {}, median = {median}",
                curve.label,
                curve.n,
                curve.events()
            );
        }
        html.push_str("</tbody></table>");
        if let Some(test) = &self.log_rank {
            let line = format!(
                "log-rank χ² = {:.3} on {} df, p = {}",
                test.statistic,
                test.degrees_of_freedom,
                format_p(test.p_value)
            );
            let _ = write!(html, "<p>{}</p>", escape(&line));
            text.push_str(&line);
        }
        Html { html, text }
    }
}

impl Render for Survival {
    fn bundle(&self) -> crate::display::Bundle {
        let mut bundle = self.plot("overall survival").bundle();
        bundle.insert("text/plain", self.table().text);
        bundle
    }
}

impl Survival {
    /// Shows the figure as the cell's result (called by evcxr for a cell's last value).
    pub fn evcxr_display(&self) {
        let table = self.table();
        let svg = self.plot("overall survival");
        crate::display::show(&svg);
        table.evcxr_display();
    }
}

fn format_p(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

/// About six round tick times from 0 to `max`.
fn time_ticks(max: f64) -> Vec<f64> {
    let step = crate::display::nice_step(max, 6.0);
    (0..)
        .map(|i| i as f64 * step)
        .take_while(|t| *t <= max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(data: &[(f64, bool)]) -> Vec<Observation> {
        data.iter()
            .map(|&(time, event)| Observation { time, event })
            .collect()
    }

    #[test]
    fn kaplan_meier_by_hand() {
        // Times 1, 2+, 3, 3, 4+, 5: S(1) = 5/6, S(3) = 5/6 * (1 - 2/4) = 5/12,
        // S(5) = 0.
        let km = KaplanMeier::fit(
            "g",
            &obs(&[
                (3.0, true),
                (1.0, true),
                (2.0, false),
                (3.0, true),
                (4.0, false),
                (5.0, true),
            ]),
        )
        .expect("fit");
        let s: Vec<(f64, usize, f64)> = km
            .steps
            .iter()
            .map(|s| (s.time, s.at_risk, s.survival))
            .collect();
        assert_eq!(s.len(), 5);
        assert!((km.survival_at(1.0) - 5.0 / 6.0).abs() < 1e-12);
        assert!((km.survival_at(3.5) - 5.0 / 12.0).abs() < 1e-12);
        assert_eq!(km.survival_at(5.0), 0.0);
        assert_eq!(km.median(), Some(3.0));
        assert_eq!(km.at_risk_at(3.0), 4);
        assert_eq!(km.events(), 4);
        // Greenwood at t = 3: S² (1/(6·5) + 2/(4·2)).
        let se = (5.0f64 / 12.0) * (1.0 / 30.0 + 2.0 / 8.0f64).sqrt();
        assert!((km.steps[2].std_error - se).abs() < 1e-12);
    }

    #[test]
    fn bad_times_are_refused_with_their_index() {
        let err = KaplanMeier::fit("g", &obs(&[(1.0, true), (f64::NAN, false)])).expect_err("nan");
        assert!(matches!(err, Error::BadTime { index: 1, .. }));
        assert!(log_rank(&[&obs(&[(1.0, true)])]).is_err());
    }

    #[test]
    fn chi_square_tail_matches_known_values() {
        // Tables: P(χ²₁ > 3.841) = 0.05, P(χ²₂ > 5.991) = 0.05, P(χ²₁ > 0) = 1.
        assert!((chi_square_sf(3.841_458_820_694_124, 1.0) - 0.05).abs() < 1e-9);
        assert!((chi_square_sf(5.991_464_547_107_979, 2.0) - 0.05).abs() < 1e-9);
        assert!((chi_square_sf(0.5, 3.0) - 0.918_891_411_654_676).abs() < 1e-9);
        assert_eq!(chi_square_sf(0.0, 1.0), 1.0);
    }

    #[test]
    fn identical_groups_have_no_difference() {
        let a = obs(&[(1.0, true), (2.0, true), (3.0, false)]);
        let test = log_rank(&[&a, &a]).expect("test");
        assert!(test.statistic.abs() < 1e-12);
        assert!((test.p_value - 1.0).abs() < 1e-12);
    }

    #[test]
    fn figure_has_axes_legend_and_numbers_at_risk() {
        let groups = vec![
            (
                "stage I".to_owned(),
                obs(&[(100.0, true), (400.0, false), (900.0, true)]),
            ),
            (
                "stage IV".to_owned(),
                obs(&[(50.0, true), (80.0, true), (120.0, true)]),
            ),
        ];
        let survival = Survival::fit(&groups).expect("fit");
        let svg = survival.plot("LUAD").svg;
        for needle in [
            "days since diagnosis",
            "survival probability",
            "stage IV (n = 3, events = 3)",
            "number at risk",
            "log-rank p",
        ] {
            assert!(svg.contains(needle), "{needle} missing");
        }
        assert!(survival.table().text.contains("median = 80"));
    }
}

/// Why a frame cannot be read as survival data.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A needed column is missing or has the wrong type.
    #[error("column {column}: {source}")]
    Column {
        /// The column.
        column: String,
        /// The cause.
        #[source]
        source: polars::prelude::PolarsError,
    },
    /// The survival data are unusable.
    #[error(transparent)]
    Survival(#[from] Error),
}

/// Overall survival from a frame with the lake's `course` columns (`vital_status`,
/// `days_to_death`, `days_to_last_follow_up`), one curve per value of `group` (or one
/// curve, "all", when `group` is `None`). Rows without a usable time are left out, as
/// R's `survfit` leaves out missing times.
///
/// # Errors
///
/// [`FrameError::Column`] naming a missing or mistyped column.
pub fn from_frame(
    df: &polars::prelude::DataFrame,
    group: Option<&str>,
) -> Result<Survival, FrameError> {
    use polars::prelude::*;
    let column = |name: &str| -> Result<&Column, FrameError> {
        df.column(name).map_err(|source| FrameError::Column {
            column: name.to_owned(),
            source,
        })
    };
    let typed = |name: &str, dtype: &DataType| -> Result<Column, FrameError> {
        column(name)?
            .cast(dtype)
            .map_err(|source| FrameError::Column {
                column: name.to_owned(),
                source,
            })
    };
    let status = typed("vital_status", &DataType::String)?;
    let death = typed("days_to_death", &DataType::Float64)?;
    let follow_up = typed("days_to_last_follow_up", &DataType::Float64)?;
    let labels = match group {
        Some(name) => Some(typed(name, &DataType::String)?),
        None => None,
    };
    let as_err = |name: &str| {
        let name = name.to_owned();
        move |source| FrameError::Column {
            column: name.clone(),
            source,
        }
    };
    let status = status.str().map_err(as_err("vital_status"))?;
    let death = death.f64().map_err(as_err("days_to_death"))?;
    let follow_up = follow_up.f64().map_err(as_err("days_to_last_follow_up"))?;
    let labels = match &labels {
        Some(c) => Some(c.str().map_err(as_err(group.unwrap_or_default()))?),
        None => None,
    };
    let mut groups: std::collections::BTreeMap<String, Vec<Observation>> = Default::default();
    for i in 0..df.height() {
        let dead = status
            .get(i)
            .is_some_and(|s| s.eq_ignore_ascii_case("dead"));
        let time = if dead { death.get(i) } else { follow_up.get(i) };
        let Some(time) = time.filter(|t| t.is_finite() && *t >= 0.0) else {
            continue;
        };
        let label = match &labels {
            Some(l) => l.get(i).unwrap_or("(missing)").to_owned(),
            None => "all".to_owned(),
        };
        groups
            .entry(label)
            .or_default()
            .push(Observation { time, event: dead });
    }
    let groups: Vec<(String, Vec<Observation>)> = groups.into_iter().collect();
    Ok(Survival::fit(&groups)?)
}

/// Why survival of a cohort cannot be estimated.
#[derive(Debug, thiserror::Error)]
pub enum CohortError {
    /// The grouping failed (an unknown field, say).
    #[error(transparent)]
    Grouping(#[from] crate::query::Error),
    /// The lake could not be read.
    #[error(transparent)]
    Lake(#[from] crate::lake::Error),
    /// A table did not have the expected columns.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The cohort's criteria failed.
    #[error(transparent)]
    Cohort(#[from] crate::cohort::Error),
}

/// Overall survival of `cohort`'s cases, grouped by `by` (see the `survival` command).
///
/// # Errors
///
/// [`CohortError::Grouping`] for an unknown field, or the lake's error.
pub fn of_cohort(
    lake: &crate::lake::Lake,
    cohort: &crate::cohort::Cohort,
    by: Option<&str>,
) -> Result<Survival, CohortError> {
    // Consent decides membership again: the cohort may predate a withdrawal (R31).
    let cohort = &*cohort.visible_in(lake)?;
    use crate::lake::Table;
    use polars::prelude::*;
    let members: std::collections::HashSet<&str> =
        cohort.cases().iter().map(String::as_str).collect();
    let course = lake.frame(Table::Course)?;
    let ids = course
        .column("case_id")
        .and_then(|c| c.str().cloned())
        .map_err(|source| FrameError::Column {
            column: "case_id".into(),
            source,
        })?;
    let mask: BooleanChunked = (0..ids.len())
        .map(|i| Some(ids.get(i).is_some_and(|c| members.contains(c))))
        .collect();
    let course = course.filter(&mask).map_err(|source| FrameError::Column {
        column: "case_id".into(),
        source,
    })?;
    // The group of each case, from the table that holds the field.
    let labels: Option<std::collections::HashMap<String, String>> = match by {
        None => None,
        Some(field) => Some(crate::query::labels(lake, cohort, field)?),
    };
    let mut df = course;
    if let Some(labels) = &labels {
        let ids = df
            .column("case_id")
            .and_then(|c| c.str().cloned())
            .map_err(|source| FrameError::Column {
                column: "case_id".into(),
                source,
            })?;
        let group: StringChunked = (0..ids.len())
            .map(|i| ids.get(i).and_then(|c| labels.get(c)).map(String::as_str))
            .collect();
        // Cases without a group (e.g. not profiled for the gene) leave the analysis.
        let keep = group.is_not_null();
        df.with_column(group.with_name("group".into()).into_column())
            .map_err(|source| FrameError::Column {
                column: "group".into(),
                source,
            })?;
        df = df.filter(&keep).map_err(|source| FrameError::Column {
            column: "group".into(),
            source,
        })?;
    }
    Ok(from_frame(&df, labels.as_ref().map(|_| "group"))?)
}

impl KaplanMeier {
    /// The 95 % confidence interval of the survival after each step, by the exponential
    /// Greenwood (log −log) transform, as `lifelines` and R's `survfit(conf.type =
    /// "log-log")` compute it: `(lower, upper)` per step.
    pub fn confidence_intervals(&self) -> Vec<(f64, f64)> {
        let z = 1.959_963_984_540_054;
        let mut sum = 0.0f64;
        self.steps
            .iter()
            .map(|s| {
                if s.events > 0 && s.at_risk > s.events {
                    let (n, d) = (s.at_risk as f64, s.events as f64);
                    sum += d / (n * (n - d));
                }
                if s.survival <= 0.0 || s.survival >= 1.0 {
                    return (
                        s.survival,
                        s.survival.max(if s.survival >= 1.0 { 1.0 } else { 0.0 }),
                    );
                }
                let log_s = s.survival.ln();
                let c = z * (sum / (log_s * log_s)).sqrt();
                let lower = (-(((-log_s).ln() + c).exp())).exp();
                let upper = (-(((-log_s).ln() - c).exp())).exp();
                (lower, upper)
            })
            .collect()
    }

    /// The 95 % confidence interval of the median survival (Brookmeyer–Crowley as
    /// lifelines and `survfit` read it off the bands): the lower limit is the first time
    /// the lower survival bound reaches 0.5, the upper limit the first time the upper
    /// bound does (`None` where a bound never does).
    pub fn median_interval(&self) -> (Option<f64>, Option<f64>) {
        let bounds = self.confidence_intervals();
        let first = |pick: fn(&(f64, f64)) -> f64| {
            self.steps
                .iter()
                .zip(&bounds)
                .find(|(_, b)| pick(b) <= 0.5)
                .map(|(s, _)| s.time)
        };
        (first(|b| b.0), first(|b| b.1))
    }
}

impl Survival {
    /// Everything the `survival` command prints: per group the KM table, `median` and its
    /// interval; the log-rank test when grouped.
    pub fn to_json(&self) -> serde_json::Value {
        let groups: Vec<serde_json::Value> = self
            .curves
            .iter()
            .map(|curve| {
                let bounds = curve.confidence_intervals();
                let (low, high) = curve.median_interval();
                serde_json::json!({
                    "group": curve.label,
                    "n": curve.n,
                    "events": curve.events(),
                    "median": curve.median(),
                    "median_ci": [low, high],
                    "km": curve.steps.iter().zip(&bounds).map(|(s, b)| serde_json::json!({
                        "time": s.time,
                        "at_risk": s.at_risk,
                        "events": s.events,
                        "censored": s.censored,
                        "survival": s.survival,
                        "std_error": s.std_error,
                        "ci_lower": b.0,
                        "ci_upper": b.1,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::json!({
            "groups": groups,
            "log_rank": self.log_rank.as_ref().map(|t| serde_json::json!({
                "statistic": t.statistic,
                "df": t.degrees_of_freedom,
                "p_value": t.p_value,
                "observed": t.observed,
                "expected": t.expected,
            })),
        })
    }
}
