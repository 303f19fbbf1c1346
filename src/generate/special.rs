//! The one-off commands a generated history holds once each (planned in `corrections`,
//! scheduled in `sim`).

/// A one-off command at a planned instant.
#[derive(Clone, Copy, Debug)]
pub(super) enum Special {
    /// Cancel the cohort.
    Cancel,
    /// Reopen the closed cohort, its enrollment deadline moved to an hour before its start.
    Reopen,
    /// Move the start and the withdrawal deadline a week later.
    Reschedule,
    /// Give the cohort the next instructor (or, with one instructor, a new name).
    Details,
    /// Switch an automatic cohort to offers held 48 h, with a waitlist cap.
    Policy,
}
