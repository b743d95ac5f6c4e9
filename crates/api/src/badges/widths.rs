//! Text widths for badges, as shields.io measures them (it uses Verdana 11px, which is not
//! free): advance widths of DejaVu Sans, a Verdana-like design with free metrics, at 11px,
//! from the table in [`table`] (generated from the font file, see the test below). No
//! kerning, as shields.io. A character outside printable ASCII counts as the widest
//! printable ASCII one, so text is never wider than its box.

#[path = "widths_table.rs"]
mod table;

/// The font size the widths are for (px).
pub(crate) const FONT_SIZE_PX: f64 = 11.0;

/// The advance of `c` in font units.
fn advance(c: char) -> u32 {
    match u32::from(c) {
        code @ 0x20..=0x7e => u32::from(table::ASCII[(code - 0x20) as usize]),
        _ => u32::from(table::FALLBACK),
    }
}

/// The width of `text` at 11px (px, unrounded).
pub(crate) fn text_width(text: &str) -> f64 {
    let units: u32 = text.chars().map(advance).sum();
    f64::from(units) * FONT_SIZE_PX / f64::from(table::UNITS_PER_EM)
}

/// The width a badge gives `text`: [`text_width`] rounded up to an odd number of pixels, as
/// shields.io does (its text is then centred on a whole pixel).
pub(crate) fn preferred_width(text: &str) -> u32 {
    let width = text_width(text).ceil() as u32;
    if width.is_multiple_of(2) {
        width + 1
    } else {
        width
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Where the table comes from: `WUMP_BADGE_FONT`, else Debian's `fonts-dejavu-core`.
    fn font_path() -> PathBuf {
        std::env::var_os("WUMP_BADGE_FONT").map_or_else(
            || PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
            PathBuf::from,
        )
    }

    /// The table the font gives: units per em, printable ASCII advances, the fallback.
    fn from_font(data: &[u8]) -> (u16, Vec<u16>, u16) {
        let face = ttf_parser::Face::parse(data, 0).expect("a TrueType font");
        let ascii: Vec<u16> = (0x20u8..=0x7e)
            .map(|b| {
                let glyph = face.glyph_index(char::from(b)).expect("glyph in the font");
                face.glyph_hor_advance(glyph).expect("an advance")
            })
            .collect();
        let fallback = *ascii.iter().max().unwrap();
        (face.units_per_em(), ascii, fallback)
    }

    /// The source of `widths_table.rs` for that table.
    fn source(units_per_em: u16, ascii: &[u16], fallback: u16) -> String {
        let mut rows = String::new();
        for (i, chunk) in ascii.chunks(8).enumerate() {
            let first = 0x20 + i * 8;
            let chars: String = (first..first + chunk.len())
                .map(|c| char::from(c as u8))
                .collect();
            let values: Vec<String> = chunk.iter().map(u16::to_string).collect();
            rows.push_str(&format!("    {}, // {chars:?}\n", values.join(", ")));
        }
        format!(
            "//! GENERATED from DejaVu Sans (`DejaVuSans.ttf`, Debian `fonts-dejavu-core`) by\n\
             //! `just badge-widths` (`badges::widths` tests with `WUMP_WRITE_BADGE_WIDTHS=1`).\n\
             //! Do not edit: regenerate.\n\n\
             /// Font units per em.\n\
             pub(super) const UNITS_PER_EM: u16 = {units_per_em};\n\n\
             /// Advance widths of `' '..='~'` in font units.\n\
             pub(super) const ASCII: [u16; 95] = [\n{rows}];\n\n\
             /// The width of any other character: the widest of the above.\n\
             pub(super) const FALLBACK: u16 = {fallback};\n"
        )
    }

    #[test]
    fn the_table_is_the_fonts() {
        let path = font_path();
        let Ok(data) = std::fs::read(&path) else {
            eprintln!(
                "skipped: no {} (apt-get install fonts-dejavu-core)",
                path.display()
            );
            return;
        };
        let (units_per_em, ascii, fallback) = from_font(&data);
        let generated = source(units_per_em, &ascii, fallback);
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/badges/widths_table.rs");
        if std::env::var_os("WUMP_WRITE_BADGE_WIDTHS").is_some() {
            std::fs::write(&here, &generated).unwrap();
        }
        assert_eq!(units_per_em, table::UNITS_PER_EM);
        assert_eq!(ascii, table::ASCII);
        assert_eq!(fallback, table::FALLBACK);
        assert_eq!(
            std::fs::read_to_string(&here).unwrap(),
            generated,
            "widths_table.rs differs from what `just badge-widths` writes"
        );
    }

    #[test]
    fn widths_add_up_and_round_to_odd_pixels() {
        // 'used by' in DejaVu Sans at 11px: u 1298, s 1067, e 1260, d 1300, ' ' 651,
        // b 1300, y 1212 font units of 2048 per em.
        let units = 1298 + 1067 + 1260 + 1300 + 651 + 1300 + 1212;
        assert!((text_width("used by") - f64::from(units) * 11.0 / 2048.0).abs() < 1e-9);
        // 8088 units = 43.44 px: 44, rounded up to odd.
        assert_eq!(preferred_width("used by"), 45);
        assert_eq!(preferred_width(""), 1);
        assert!(text_width("é") >= text_width("W"));
    }
}
