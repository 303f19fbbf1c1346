//! Hand-written SVG charts: line charts (optionally log-x) and grouped bar charts. Plain SVG 1.1
//! with no scripts or external references, so they render on GitHub and in any browser.

use std::fmt::Write as _;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 210.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 56.0;
const COLORS: [&str; 7] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf",
];

/// One line of a line chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// (x, y) points, in x order.
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed (baselines).
    pub dashed: bool,
}

/// A line chart.
#[derive(Clone, Debug)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Logarithmic x (ticks at the data's x values).
    pub x_log: bool,
    /// Logarithmic y (ticks at powers of ten).
    pub y_log: bool,
    /// The lines.
    pub series: Vec<Series>,
}

/// A grouped bar chart: one group per category, one bar per series.
#[derive(Clone, Debug)]
pub struct BarChart {
    /// Title above the plot.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Category names (x axis).
    pub groups: Vec<String>,
    /// (legend text, one value per group; NaN for none).
    pub series: Vec<(String, Vec<f64>)>,
    /// Logarithmic y.
    pub y_log: bool,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `1234567` → `1.2M`, `0.25` → `0.25`.
#[must_use]
pub fn short(value: f64) -> String {
    let a = value.abs();
    if a >= 1e9 {
        trim(format!("{:.2}", value / 1e9)) + "G"
    } else if a >= 1e6 {
        trim(format!("{:.2}", value / 1e6)) + "M"
    } else if a >= 1e3 {
        trim(format!("{:.1}", value / 1e3)) + "k"
    } else if a >= 10.0 || a == 0.0 {
        format!("{value:.0}")
    } else {
        trim(format!("{value:.2}"))
    }
}

fn trim(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A round step giving about five ticks up to `max`.
fn nice_step(max: f64) -> f64 {
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Maps data y to pixels, and lists the ticks.
struct YAxis {
    log: bool,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl YAxis {
    fn new(values: impl Iterator<Item = f64>, log: bool) -> Self {
        let values: Vec<f64> = values
            .filter(|v| v.is_finite() && (!log || *v > 0.0))
            .collect();
        let max = values.iter().copied().fold(0.0, f64::max);
        if log {
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let lo = 10f64.powf(min.max(1e-9).log10().floor());
            let hi = 10f64.powf(max.max(lo * 10.0).log10().ceil());
            let mut ticks = Vec::new();
            let mut t = lo;
            while t <= hi * 1.0001 {
                ticks.push(t);
                t *= 10.0;
            }
            Self { log, lo, hi, ticks }
        } else {
            let max = if max > 0.0 { max } else { 1.0 };
            let step = nice_step(max);
            let hi = (max / step).ceil() * step;
            let ticks = (0..=((hi / step).round() as usize))
                .map(|i| i as f64 * step)
                .collect();
            Self {
                log,
                lo: 0.0,
                hi,
                ticks,
            }
        }
    }

    fn pixel(&self, value: f64) -> f64 {
        let plot = HEIGHT - TOP - BOTTOM;
        let f = if self.log {
            (value.max(self.lo).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (value - self.lo) / (self.hi - self.lo)
        };
        HEIGHT - BOTTOM - f * plot
    }
}

fn frame(out: &mut String, title: &str, y_label: &str, x_label: &str, y: &YAxis) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{}</text>
"##,
        (LEFT + WIDTH - RIGHT) / 2.0,
        escape(title)
    );
    for &t in &y.ticks {
        let py = y.pixel(t);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{}" y2="{py:.1}" stroke="#e0e0e0"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            short(t)
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b}" stroke="#333"/><line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}" stroke="#333"/>
<text x="18" y="{my:.1}" text-anchor="middle" transform="rotate(-90 18 {my:.1})">{yl}</text>
<text x="{mx:.1}" y="{xl_y}" text-anchor="middle">{xl}</text>"##,
        b = HEIGHT - BOTTOM,
        r = WIDTH - RIGHT,
        my = (TOP + HEIGHT - BOTTOM) / 2.0,
        mx = (LEFT + WIDTH - RIGHT) / 2.0,
        xl_y = HEIGHT - 14.0,
        yl = escape(y_label),
        xl = escape(x_label),
    );
}

fn legend(out: &mut String, entries: &[(String, bool)]) {
    for (i, (name, dashed)) in entries.iter().enumerate() {
        let y = TOP + 10.0 + i as f64 * 20.0;
        let x = WIDTH - RIGHT + 14.0;
        let dash = if *dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="3"{dash}/><text x="{}" y="{}">{}</text>"#,
            x + 24.0,
            COLORS[i % COLORS.len()],
            x + 30.0,
            y + 4.0,
            escape(name)
        );
    }
}

impl LineChart {
    /// The SVG document.
    #[must_use]
    pub fn render(&self) -> String {
        let y = YAxis::new(
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1)),
            self.y_log,
        );
        let mut xs: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let (x_lo, x_hi) = (
            xs.first().copied().unwrap_or(0.0),
            xs.last().copied().unwrap_or(1.0),
        );
        let fx = |x: f64| -> f64 {
            let (lo, hi, at) = if self.x_log {
                (x_lo.log10(), x_hi.log10(), x.log10())
            } else {
                (x_lo, x_hi, x)
            };
            let share = if hi > lo { (at - lo) / (hi - lo) } else { 0.5 };
            LEFT + 20.0 + share * (WIDTH - RIGHT - LEFT - 40.0)
        };
        let mut out = String::new();
        frame(&mut out, &self.title, &self.y_label, &self.x_label, &y);
        for &x in &xs {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                fx(x),
                HEIGHT - BOTTOM + 18.0,
                short(x)
            );
        }
        for (i, s) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let points: Vec<String> = s
                .points
                .iter()
                .filter(|p| p.1.is_finite())
                .map(|&(x, v)| format!("{:.1},{:.1}", fx(x), y.pixel(v)))
                .collect();
            let dash = if s.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = writeln!(
                out,
                r#"<polyline fill="none" stroke="{color}" stroke-width="2.5"{dash} points="{}"/>"#,
                points.join(" ")
            );
            for &(x, v) in s.points.iter().filter(|p| p.1.is_finite()) {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"><title>{}: {}</title></circle>"#,
                    fx(x),
                    y.pixel(v),
                    escape(&s.name),
                    short(v)
                );
            }
        }
        let entries: Vec<(String, bool)> = self
            .series
            .iter()
            .map(|s| (s.name.clone(), s.dashed))
            .collect();
        legend(&mut out, &entries);
        out.push_str("</svg>\n");
        out
    }
}

impl BarChart {
    /// The SVG document.
    #[must_use]
    pub fn render(&self) -> String {
        let y = YAxis::new(
            self.series.iter().flat_map(|s| s.1.iter().copied()),
            self.y_log,
        );
        let mut out = String::new();
        frame(&mut out, &self.title, &self.y_label, "", &y);
        let plot_w = WIDTH - RIGHT - LEFT;
        let group_w = plot_w / self.groups.len().max(1) as f64;
        let bar_w = (group_w * 0.8) / self.series.len().max(1) as f64;
        for (g, name) in self.groups.iter().enumerate() {
            let gx = LEFT + g as f64 * group_w;
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                gx + group_w / 2.0,
                HEIGHT - BOTTOM + 18.0,
                escape(name)
            );
            for (s, (series, values)) in self.series.iter().enumerate() {
                let Some(&v) = values.get(g) else { continue };
                if !v.is_finite() {
                    continue;
                }
                let top = y.pixel(v);
                let _ = writeln!(
                    out,
                    r#"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}, {}: {}</title></rect>"#,
                    gx + group_w * 0.1 + s as f64 * bar_w,
                    bar_w * 0.92,
                    (HEIGHT - BOTTOM - top).max(0.0),
                    COLORS[s % COLORS.len()],
                    escape(name),
                    escape(series),
                    short(v)
                );
            }
        }
        let entries: Vec<(String, bool)> =
            self.series.iter().map(|s| (s.0.clone(), false)).collect();
        legend(&mut out, &entries);
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers() {
        assert_eq!(short(1_234_567.0), "1.23M");
        assert_eq!(short(40_000.0), "40k");
        assert_eq!(short(0.25), "0.25");
        assert_eq!(short(64.0), "64");
    }

    #[test]
    fn renders_without_nan() {
        let chart = LineChart {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_log: true,
            y_log: false,
            series: vec![Series {
                name: "a & b".into(),
                points: vec![(1.0, 10.0), (16.0, 100.0), (256.0, 50.0)],
                dashed: false,
            }],
        };
        let svg = chart.render();
        assert!(!svg.contains("NaN"));
        assert!(svg.contains("a &amp; b"));
    }
}
