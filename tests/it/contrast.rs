//! WCAG 2.2 contrast of the stylesheet's interactive boundaries (1.4.11, 3:1): the borders of
//! inputs and the focus ring, against every background they sit on (white cards, the page, the
//! dark top bar for the ring). Read from the stylesheet the binary embeds.

/// The value of the custom property `--name` in `css`.
fn property<'a>(css: &'a str, name: &str) -> &'a str {
    let at = css
        .find(&format!("--{name}:"))
        .unwrap_or_else(|| panic!("no --{name}"));
    css[at + name.len() + 3..].split(';').next().unwrap().trim()
}

/// Relative luminance of `#rrggbb`.
fn luminance(hex: &str) -> f64 {
    let hex = hex.trim_start_matches('#');
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
}

fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn input_borders_and_the_focus_ring_stand_out_at_three_to_one() {
    let css =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/static/style.css")).unwrap();
    assert!(
        css.contains(
            "input, select { font: inherit; padding: .4rem .5rem; border: 1px solid var(--field);"
        ),
        "inputs are bordered with --field"
    );
    assert!(
        css.contains("outline: 3px solid var(--focus);"),
        "the focus ring is --focus"
    );
    let (field, focus) = (property(&css, "field"), property(&css, "focus"));
    for background in ["#ffffff", property(&css, "bg"), property(&css, "card")] {
        let background = if background == "#fff" {
            "#ffffff"
        } else {
            background
        };
        assert!(
            contrast(field, background) >= 3.0,
            "input border {field} on {background}"
        );
        assert!(
            contrast(focus, background) >= 3.0,
            "focus ring {focus} on {background}"
        );
    }
    let top_bar = property(&css, "ink");
    assert!(
        contrast(focus, top_bar) >= 3.0,
        "focus ring {focus} on the top bar {top_bar}"
    );
    // The check itself: the colours of before fail it.
    assert!(contrast("#d9dee8", "#ffffff") < 3.0 && contrast("#f0b400", "#f6f7fb") < 3.0);
}
