//! A small line chart drawn on the server as SVG: a package's dependents over time, with no
//! script and nothing loaded from elsewhere (the page's CSP allows neither).

use chrono::NaiveDate;

use super::format;

/// The drawing's size in SVG units (it scales to the page's width).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
/// Room for the value labels on the left and the dates below.
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 10.0;
const RIGHT: f64 = 8.0;

/// What the template draws: everything already in SVG coordinates.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chart {
    pub(crate) width: f64,
    pub(crate) height: f64,
    /// `points` of the line.
    pub(crate) line: String,
    /// `d` of the area under it.
    pub(crate) area: String,
    /// Horizontal grid lines: `(y, label)`, bottom (0) to top (the scale's maximum).
    pub(crate) grid: Vec<(f64, String)>,
    pub(crate) left: f64,
    pub(crate) right: f64,
    /// The dates under the first and last points, at their x.
    pub(crate) first_date: (f64, String),
    pub(crate) last_date: (f64, String),
    /// The chart in words, for screen readers and for anyone who prefers numbers.
    pub(crate) summary: String,
}

/// The chart of `points` (day, value), oldest first, or `None` with fewer than two days to
/// draw a line between.
pub(crate) fn line(points: &[(NaiveDate, i64)], what: &str) -> Option<Chart> {
    let (first, last) = (points.first()?, points.last()?);
    let days = (last.0 - first.0).num_days();
    if points.len() < 2 || days < 1 {
        return None;
    }
    let peak = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let top = nice_ceiling(peak);
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let x = |day: NaiveDate| LEFT + plot_w * (day - first.0).num_days() as f64 / days as f64;
    let y = |value: i64| TOP + plot_h * (1.0 - value as f64 / top as f64);
    let coordinates: Vec<(f64, f64)> = points.iter().map(|&(d, v)| (x(d), y(v))).collect();
    let line = coordinates
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ");
    let base = y(0);
    let area = format!(
        "M{:.1},{base:.1} L{line} L{:.1},{base:.1} Z",
        coordinates[0].0,
        coordinates[coordinates.len() - 1].0,
        line = line.replace(' ', " L"),
    );
    let grid = [0, top / 2, top]
        .into_iter()
        .map(|v| (y(v), format::count(v)))
        .collect();
    let summary = format!(
        "{what}: {} on {}, {} on {} (highest {}).",
        format::count(first.1),
        first.0.format("%-d %B %Y"),
        format::count(last.1),
        last.0.format("%-d %B %Y"),
        format::count(points.iter().map(|p| p.1).max().unwrap_or(0)),
    );
    Some(Chart {
        width: WIDTH,
        height: HEIGHT,
        line,
        area,
        grid,
        left: LEFT,
        right: WIDTH - RIGHT,
        first_date: (LEFT, first.0.format("%-d %b %Y").to_string()),
        last_date: (WIDTH - RIGHT, last.0.format("%-d %b %Y").to_string()),
        summary,
    })
}

/// The smallest of 1, 2 or 5 times a power of ten at or above `n` (at least 2, so the
/// middle grid line has a whole value): a scale people read at a glance.
fn nice_ceiling(n: i64) -> i64 {
    let mut power = 1i64;
    loop {
        for step in [1i64, 2, 5] {
            let candidate = step.saturating_mul(power);
            if candidate >= n.max(2) {
                return candidate;
            }
        }
        power = power.saturating_mul(10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, n).unwrap()
    }

    #[test]
    fn scales_are_one_two_or_five_times_a_power_of_ten() {
        let scales: Vec<_> = [1, 2, 3, 7, 11, 180, 2_001, 49_999]
            .into_iter()
            .map(nice_ceiling)
            .collect();
        assert_eq!(scales, [2, 2, 5, 10, 20, 200, 5_000, 50_000]);
    }

    #[test]
    fn a_line_spans_the_plot_from_its_first_to_its_last_day() {
        let chart = line(&[(day(1), 0), (day(11), 10), (day(21), 5)], "Dependents").unwrap();
        let points: Vec<(f64, f64)> = chart
            .line
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert_eq!(points.len(), 3);
        assert_eq!(points[0].0, LEFT);
        assert_eq!(points[2].0, WIDTH - RIGHT);
        assert_eq!(points[1].0, (LEFT + WIDTH - RIGHT) / 2.0, "halfway in time");
        assert_eq!(points[0].1, HEIGHT - BOTTOM, "zero on the axis");
        assert_eq!(points[1].1, TOP, "the peak (10) at the top of a 10 scale");
        assert_eq!(
            chart.summary,
            "Dependents: 0 on 1 November 2026, 5 on 21 November 2026 (highest 10)."
        );
        assert_eq!(chart.grid.last().unwrap().1, "10");
    }

    #[test]
    fn a_single_day_draws_nothing() {
        assert_eq!(line(&[(day(1), 3)], "Dependents"), None);
        assert_eq!(line(&[(day(1), 3), (day(1), 4)], "Dependents"), None);
        assert_eq!(line(&[], "Dependents"), None);
    }
}
