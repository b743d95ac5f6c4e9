//! A badge as shields.io draws it (`flat` and `flat-square`): a label on grey and a message
//! on a colour, each box its text's width ([`widths::preferred_width`]) plus 5px padding on
//! either side, text drawn at ten times the size and scaled down (shields.io's trick for
//! sub-pixel positions), with a `<title>` and `aria-label` for screen readers.

use super::{Badge, widths};

/// How a badge is drawn (`?style=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Style {
    /// Rounded corners and a light gradient (the default).
    #[default]
    Flat,
    /// Square corners, no gradient.
    FlatSquare,
}

impl Style {
    /// The style named `name` (`flat`, `flat-square`).
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "flat" => Some(Style::Flat),
            "flat-square" => Some(Style::FlatSquare),
            _ => None,
        }
    }
}

/// Padding left and right of each text (px).
pub(crate) const PADDING: u32 = 5;

/// The grey behind the label.
const LABEL_FILL: &str = "#555";

/// The widths of a badge's boxes: label, message (px).
pub(crate) fn box_widths(badge: &Badge) -> (u32, u32) {
    (
        widths::preferred_width(&badge.label) + 2 * PADDING,
        widths::preferred_width(&badge.message) + 2 * PADDING,
    )
}

/// `text` with XML's special characters escaped (for text and attribute values).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The SVG of `badge` in `style`.
pub(crate) fn render(badge: &Badge, style: Style) -> String {
    let (label_w, message_w) = box_widths(badge);
    let width = label_w + message_w;
    let label_text_w = (label_w - 2 * PADDING) * 10;
    let message_text_w = (message_w - 2 * PADDING) * 10;
    let label_x = label_w * 5;
    let message_x = label_w * 10 + message_w * 5;
    let label = escape(&badge.label);
    let message = escape(&badge.message);
    let title = format!("{label}: {message}");
    let color = badge.color.hex();
    let (defs, clip, overlay, shadow) = match style {
        Style::Flat => (
            format!(
                "<linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient><clipPath id=\"r\"><rect width=\"{width}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>"
            ),
            " clip-path=\"url(#r)\"",
            format!("<rect width=\"{width}\" height=\"20\" fill=\"url(#s)\"/>"),
            true,
        ),
        Style::FlatSquare => (
            String::new(),
            " shape-rendering=\"crispEdges\"",
            String::new(),
            false,
        ),
    };
    let text = |x: u32, length: u32, content: &str| {
        let shadow = if shadow {
            format!(
                "<text aria-hidden=\"true\" x=\"{x}\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" transform=\"scale(.1)\" textLength=\"{length}\">{content}</text>"
            )
        } else {
            String::new()
        };
        format!(
            "{shadow}<text x=\"{x}\" y=\"140\" transform=\"scale(.1)\" fill=\"#fff\" textLength=\"{length}\">{content}</text>"
        )
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"20\" role=\"img\" aria-label=\"{title}\"><title>{title}</title>{defs}<g{clip}><rect width=\"{label_w}\" height=\"20\" fill=\"{LABEL_FILL}\"/><rect x=\"{label_w}\" width=\"{message_w}\" height=\"20\" fill=\"{color}\"/>{overlay}</g><g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" text-rendering=\"geometricPrecision\" font-size=\"110\">{}{}</g></svg>",
        text(label_x, label_text_w, &label),
        text(message_x, message_text_w, &message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::badges::{Color, Metric};

    #[test]
    fn text_is_escaped_everywhere() {
        let badge = Badge {
            label: "<a & \"b\">".into(),
            message: "it's".into(),
            color: Color::Blue,
        };
        let svg = render(&badge, Style::Flat);
        assert!(svg.contains("<title>&lt;a &amp; &quot;b&quot;&gt;: it&apos;s</title>"));
        assert!(!svg.contains("<a "));
    }

    #[test]
    fn the_width_is_both_boxes() {
        let badge = Badge::count(Metric::Organizations, 42, None);
        let (label, message) = box_widths(&badge);
        let svg = render(&badge, Style::FlatSquare);
        assert!(svg.contains(&format!(
            "width=\"{}\" height=\"20\" role=\"img\"",
            label + message
        )));
        assert!(!svg.contains("rx=\"3\""));
        assert!(render(&badge, Style::Flat).contains("rx=\"3\""));
    }
}
