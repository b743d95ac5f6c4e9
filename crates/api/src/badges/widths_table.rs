//! GENERATED from DejaVu Sans (`DejaVuSans.ttf`, Debian `fonts-dejavu-core`) by
//! `just badge-widths` (`badges::widths` tests with `WUMP_WRITE_BADGE_WIDTHS=1`).
//! Do not edit: regenerate.

/// Font units per em.
pub(super) const UNITS_PER_EM: u16 = 2048;

/// Advance widths of `' '..='~'` in font units.
pub(super) const ASCII: [u16; 95] = [
    651, 821, 942, 1716, 1303, 1946, 1597, 563, // " !\"#$%&'"
    799, 799, 1024, 1716, 651, 739, 651, 690, // "()*+,-./"
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, // "01234567"
    1303, 1303, 690, 690, 1716, 1716, 1716, 1087, // "89:;<=>?"
    2048, 1401, 1405, 1430, 1577, 1294, 1178, 1587, // "@ABCDEFG"
    1540, 604, 604, 1343, 1141, 1767, 1532, 1612, // "HIJKLMNO"
    1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, // "PQRSTUVW"
    1403, 1251, 1403, 799, 690, 799, 1716, 1024, // "XYZ[\\]^_"
    1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, // "`abcdefg"
    1298, 569, 569, 1186, 569, 1995, 1298, 1253, // "hijklmno"
    1300, 1300, 842, 1067, 803, 1298, 1212, 1675, // "pqrstuvw"
    1212, 1212, 1075, 1303, 690, 1303, 1716, // "xyz{|}~"
];

/// The width of any other character: the widest of the above.
pub(super) const FALLBACK: u16 = 2048;
