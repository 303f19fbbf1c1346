//! A column of interned codes (one per event) in the narrowest width that holds every code
//! in it: one byte while there are fewer than 255 distinct values (actors), two while fewer
//! than 65,535 (cohorts, learners of most deployments), else four.
//!
//! The column widens itself, copying once per width, the first time a code does not fit, so
//! there is no limit; whether it is wide depends on nothing but its contents, so a column
//! built live equals the same column rebuilt. [`NONE`] ("no such thing") is stored as the
//! width's largest value.

/// The code of "no such thing": stored as the largest value of the column's width.
pub const NONE: u32 = u32::MAX;

/// Codes by row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeColumn(Repr);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Repr {
    Bytes(Vec<u8>),
    Halves(Vec<u16>),
    Words(Vec<u32>),
}

impl Default for CodeColumn {
    fn default() -> Self {
        Self(Repr::Bytes(Vec::new()))
    }
}

/// Whether `code` fits a width whose largest value is `max` (which stands for [`NONE`]).
fn fits(code: u32, max: u32) -> bool {
    code == NONE || code < max
}

impl CodeColumn {
    /// Appends `code` (or [`NONE`]).
    pub fn push(&mut self, code: u32) {
        match &mut self.0 {
            Repr::Bytes(column) if fits(code, u8::MAX.into()) => {
                column.push(if code == NONE {
                    u8::MAX
                } else {
                    u8::try_from(code).unwrap_or(u8::MAX)
                });
            }
            Repr::Halves(column) if fits(code, u16::MAX.into()) => {
                column.push(if code == NONE {
                    u16::MAX
                } else {
                    u16::try_from(code).unwrap_or(u16::MAX)
                });
            }
            Repr::Words(column) => column.push(code),
            Repr::Bytes(column) => {
                let halves = column.iter().map(|b| {
                    if *b == u8::MAX {
                        u16::MAX
                    } else {
                        u16::from(*b)
                    }
                });
                self.0 = Repr::Halves(halves.collect());
                self.push(code);
            }
            Repr::Halves(column) => {
                self.0 = Repr::Words(column.iter().map(|h| widen(*h, u16::MAX)).collect());
                self.push(code);
            }
        }
    }

    /// The code at row `i` ([`NONE`] stays [`NONE`]).
    ///
    /// # Panics
    ///
    /// When `i` is past the end, as indexing a slice does.
    #[must_use]
    pub fn get(&self, i: usize) -> u32 {
        match &self.0 {
            Repr::Bytes(column) => widen(column[i], u8::MAX),
            Repr::Halves(column) => widen(column[i], u16::MAX),
            Repr::Words(column) => column[i],
        }
    }
}

/// A narrow value as a code: the width's largest value is [`NONE`].
fn widen<T: Into<u32> + PartialEq + Copy>(value: T, max: T) -> u32 {
    if value == max { NONE } else { value.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_widens_when_a_code_does_not_fit_and_keeps_every_code_and_none() {
        let mut column = CodeColumn::default();
        column.push(0);
        column.push(NONE);
        column.push(254);
        assert!(matches!(column.0, Repr::Bytes(_)));
        column.push(255);
        assert!(
            matches!(column.0, Repr::Halves(_)),
            "255 is the bytes' NONE"
        );
        column.push(65_534);
        assert!(matches!(column.0, Repr::Halves(_)));
        column.push(65_535);
        assert!(matches!(column.0, Repr::Words(_)));
        column.push(NONE);
        column.push(NONE - 1);
        assert_eq!(
            (0..8).map(|i| column.get(i)).collect::<Vec<_>>(),
            [0, NONE, 254, 255, 65_534, 65_535, NONE, NONE - 1]
        );
        let mut again = CodeColumn::default();
        for i in 0..8 {
            again.push(column.get(i));
        }
        assert_eq!(again, column, "the same codes give the same column");
    }
}
