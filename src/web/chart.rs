//! The seat-change chart: a grouped bar chart of counts per ISO week, laid out here (every
//! coordinate computed on the server) and drawn as inline SVG by the seat report's template.
//! It reads without colour: each series has its own fill pattern (solid, hatched, dotted,
//! striped; the template's `<defs>`), in the bars and in the legend, and a week still under way
//! is fenced off by a dashed line and labelled "this week so far".

use crate::projections::WeekCounts;

/// A horizontal grid line and its value.
pub struct YTick {
    pub y: u32,
    pub label: u64,
}

/// A week's label under the x axis; the year is shown under the first week and where it changes.
pub struct XTick {
    pub x: u32,
    pub label: String,
    pub year: String,
}

/// One bar of the chart.
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    /// Its series' pattern (`url(#…)`, defined by the template).
    pub fill: &'static str,
    /// Its series' colour: the bar's outline.
    pub stroke: &'static str,
    /// What it shows, in words (the bar's tooltip and accessible name).
    pub title: String,
}

/// One entry of the legend: a swatch in the series' pattern, and its name.
pub struct LegendItem {
    pub x: u32,
    pub fill: &'static str,
    pub stroke: &'static str,
    pub label: &'static str,
}

/// The week still under way (the last one shown, when it holds "now"): a dashed line at its
/// left and a label over it.
pub struct SoFar {
    /// The dashed line's x.
    pub line_x: u32,
    /// The label's right end (it is anchored there, so it stays inside the drawing).
    pub label_x: u32,
}

/// A grouped bar chart of seat changes per week, laid out here and drawn as inline SVG by the
/// template: four bars per week (enrolled, withdrawn, promoted, capacity changes).
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub title: String,
    pub desc: String,
    pub left: u32,
    pub right: u32,
    pub top: u32,
    pub bottom: u32,
    pub y_ticks: Vec<YTick>,
    pub x_ticks: Vec<XTick>,
    pub bars: Vec<Bar>,
    pub legend: Vec<LegendItem>,
    /// The week still under way, if it is shown.
    pub so_far: Option<SoFar>,
    /// Where the axis titles go.
    pub x_title_x: u32,
    pub x_title_y: u32,
    pub y_title_x: i64,
}

/// The charted series: label, fill pattern (defined in the template's `<defs>`) and colour
/// (the stylesheet's accent, danger, ok and warning). Told apart without colour by the pattern.
const SERIES: [(&str, &str, &str); 4] = [
    ("enrolled", "url(#seats-solid)", "#2f5bd3"),
    ("withdrawn", "url(#seats-hatched)", "#b3261e"),
    ("promoted", "url(#seats-dotted)", "#1f7a4a"),
    ("capacity changes", "url(#seats-striped)", "#9a6400"),
];

impl Chart {
    const LEFT: u32 = 76;
    const TOP: u32 = 36;
    const PLOT_HEIGHT: u32 = 180;
    /// Narrowest week group, and the narrowest plot (so a few weeks still read well).
    const MIN_GROUP: u32 = 44;
    const MIN_PLOT_WIDTH: u32 = 440;
    const MAX_BAR: u32 = 16;
    const BOTTOM: u32 = 60;

    /// The smallest round step (1, 2 or 5 times a power of ten) that covers `max` in at most
    /// five steps.
    fn step(max: u64) -> u64 {
        let mut power = 1u64;
        loop {
            for factor in [1, 2, 5] {
                let step = factor * power;
                if max.div_ceil(step) <= 5 {
                    return step;
                }
            }
            power = power.saturating_mul(10);
        }
    }

    /// The legend: each key a swatch, its label (about 7 px a character at 11 px), then a gap.
    fn legend() -> Vec<LegendItem> {
        let mut x = Self::LEFT;
        SERIES
            .iter()
            .map(|&(label, fill, stroke)| {
                let item = LegendItem {
                    x,
                    fill,
                    stroke,
                    label,
                };
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "a series label is a short constant"
                )]
                let chars = label.len() as u32;
                x += 32 + 7 * chars;
                item
            })
            .collect()
    }

    /// The chart of `rows`, one per week in order: its label (`2026-W10`), its counts and
    /// whether it is still under way (only the last can be); none for no weeks.
    pub fn of(rows: &[(&str, WeekCounts, bool)], subject: &str) -> Option<Self> {
        let (&(first, _, _), &(last, _, under_way)) = (rows.first()?, rows.last()?);
        let peak = rows
            .iter()
            .map(|(_, counts, _)| counts.peak())
            .max()
            .unwrap_or(0)
            .max(1);
        let step = Self::step(peak);
        let top_value = peak.div_ceil(step) * step;
        let weeks = u32::try_from(rows.len()).ok()?;
        let group = (Self::MIN_PLOT_WIDTH / weeks).max(Self::MIN_GROUP);
        let plot_width = weeks * group;
        let width = Self::LEFT + plot_width + 16;
        // Four bars a group, one pixel apart, centred, with room on both sides.
        let bar = ((group - 12) / 4 - 1).min(Self::MAX_BAR);
        let pad = (group - 4 * bar - 3) / 2;
        let bottom = Self::TOP + Self::PLOT_HEIGHT;
        // `value` is at most `top_value`, so its height is at most the plot's.
        let y_of = |value: u64| {
            bottom
                - u32::try_from(value * u64::from(Self::PLOT_HEIGHT) / top_value)
                    .unwrap_or(Self::PLOT_HEIGHT)
        };
        let y_ticks = (0..=top_value / step)
            .map(|i| YTick {
                y: y_of(i * step),
                label: i * step,
            })
            .collect();
        let mut x_ticks = Vec::new();
        let mut bars = Vec::new();
        let mut year = String::new();
        for (i, &(row_label, ref c, _)) in (0u32..).zip(rows) {
            let x0 = Self::LEFT + i * group;
            let (row_year, week) = row_label.split_once("-W").unwrap_or(("", row_label));
            x_ticks.push(XTick {
                x: x0 + group / 2,
                label: format!("W{week}"),
                year: if row_year == year {
                    String::new()
                } else {
                    row_year.to_owned()
                },
            });
            row_year.clone_into(&mut year);
            let values = [c.enrolled, c.withdrawn, c.promoted, c.capacity_changes];
            for (j, (value, (label, fill, stroke))) in (0u32..).zip(values.into_iter().zip(SERIES))
            {
                if value == 0 {
                    continue;
                }
                let y = y_of(value).min(bottom - 1);
                bars.push(Bar {
                    x: x0 + pad + j * (bar + 1),
                    y,
                    width: bar,
                    height: bottom - y,
                    fill,
                    stroke,
                    title: format!("{row_label}: {value} {label}"),
                });
            }
        }
        let legend = Self::legend();
        let span = if first == last {
            first.to_owned()
        } else {
            format!("{first} to {last}")
        };
        let so_far = under_way.then(|| SoFar {
            line_x: Self::LEFT + (weeks - 1) * group,
            label_x: Self::LEFT + plot_width,
        });
        let partial = if under_way {
            format!(" The last week, {last}, is this week so far: it is not over yet.")
        } else {
            String::new()
        };
        Some(Self {
            width,
            height: bottom + Self::BOTTOM,
            title: format!("Seat changes per ISO week, {subject}, {span}"),
            desc: format!(
                "Grouped bars, one group per week from {span}: students enrolled (solid), \
                 withdrawn (hatched), promoted from the waitlist (dotted), and capacity changes \
                 (striped). The vertical axis counts events, from 0 to {top_value}.{partial} The \
                 table below lists the same numbers."
            ),
            left: Self::LEFT,
            right: Self::LEFT + plot_width,
            top: Self::TOP,
            bottom,
            y_ticks,
            x_ticks,
            bars,
            legend,
            so_far,
            x_title_x: Self::LEFT + plot_width / 2,
            x_title_y: bottom + 52,
            y_title_x: -i64::from(Self::TOP + Self::PLOT_HEIGHT / 2),
        })
    }
}
