//! What a read model is ([`Projection`]) and the `registry!` macro that lists them once and
//! builds [`super::Projections`] from that list: its fields, `apply` (replay, catch-up and
//! live updates), `positions` (the status), `shrink` and the shadow check's comparison.
//!
//! Cross-dependencies are declared, not wired by hand: a model that reads another while it
//! applies an envelope names it in its [`Projection::Reads`] type and in its registry line. The
//! registry first applies every model that reads nothing, then the others, handing each the
//! ones it reads as [`Applied`] — a type only the registry makes, only out of models that
//! have already applied the envelope, so reading a model that has not is a compile error.

use std::ops::Deref;

use crate::store::Envelope;

/// A read model folded from the events, in position order.
///
/// To add one: a file in `src/projections/` with the struct and this impl, and one line in the
/// `registry!` call of `src/projections/mod.rs` (`field: module::Type` or
/// `field: module::Type reads (other, …)`). Replay, catch-up, live updates, rebuild, status and
/// the shadow check then include it.
pub trait Projection: Clone + std::fmt::Debug + Default + PartialEq {
    /// Its name in the status page, the API and the metrics.
    const NAME: &'static str;

    /// The models it reads while applying an envelope, each already past that envelope: `()`
    /// for none, `Applied<'a, Catalog>` for one, a tuple of `Applied` for several, in the
    /// order its registry line names them. Only a model that reads none may be read.
    type Reads<'a>;

    /// Folds one envelope. The registry passes each envelope once, in position order.
    fn apply(&mut self, envelope: &Envelope, reads: Self::Reads<'_>);

    /// The global position of the last envelope applied.
    fn position(&self) -> u64;

    /// Gives back memory the replay's growth left unused (called after a replay).
    fn shrink(&mut self) {}

    /// How this live model differs from `rebuilt`, one line per difference, for the shadow
    /// check; empty when they are equal.
    fn differences(&self, rebuilt: &Self) -> Vec<String> {
        if self == rebuilt {
            Vec::new()
        } else {
            vec![format!("{}: live differs from rebuilt", Self::NAME)]
        }
    }
}

/// A model another reads during `apply`, already past the envelope being applied. Only the
/// registry makes one.
#[derive(Debug)]
pub struct Applied<'a, P>(&'a P);

impl<P> Clone for Applied<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Applied<'_, P> {}

impl<P> Deref for Applied<'_, P> {
    type Target = P;

    fn deref(&self) -> &P {
        self.0
    }
}

impl<'a, P> Applied<'a, P> {
    /// Used by `registry!` only.
    #[doc(hidden)]
    pub const fn registered(model: &'a P) -> Self {
        Self(model)
    }
}

/// Declares every projection once: `field: module::Type` for a model that reads no other while
/// applying, `field: module::Type reads (a, b)` for one that reads the models of fields `a` and
/// `b` (models that read none). Declares each module (`src/projections/<module>.rs`),
/// re-exports each type, and generates [`super::Projections`] with one public field per model
/// and its `apply`, `positions`, `shrink` and `model_differences`.
macro_rules! registry {
    (
        $(
            $(#[$doc:meta])*
            $field:ident : $module:ident :: $model:ident $( reads ( $($dep:ident),+ ) )?
        ),+ $(,)?
    ) => {
        $(
            mod $module;
            pub use $module::$model;
        )+

        /// Every projection, at one position.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Projections {
            /// Global position of the last event applied to all the projections (each also
            /// knows its own; they move together, under one lock).
            pub position: u64,
            /// Events applied since startup's replay began.
            pub events_applied: u64,
            /// Learner keys and names (loaded from their table, not folded from events).
            pub directory: Directory,
            /// Refused commands (from their own table, within the retention period).
            pub journal: Journal,
            $(
                $(#[$doc])*
                pub $field: $model,
            )+
        }

        impl Projections {
            /// How many projections are registered.
            pub const COUNT: usize = [$(stringify!($field)),+].len();

            /// Folds one envelope into every projection: first those that read no other, then
            /// the rest, each given what it reads. Envelopes must come in position order; one
            /// already applied is ignored, so replays and live updates may overlap safely.
            pub fn apply(&mut self, envelope: &Envelope) {
                if envelope.position <= self.position {
                    return;
                }
                let Self { $($field,)+ .. } = self;
                $( registry!(@source $field, envelope, [$($($dep),+)?]); )+
                $( registry!(@derived $field, envelope, [$($($dep),+)?]); )+
                self.position = envelope.position;
                self.events_applied += 1;
            }

            /// Each projection's name and the global position it has applied, in registry
            /// order.
            #[must_use]
            pub fn positions(&self) -> [(&'static str, u64); Self::COUNT] {
                [$( (<$model as Projection>::NAME, self.$field.position()) ),+]
            }

            /// Gives back memory the replay's growth left unused.
            fn shrink(&mut self) {
                $( self.$field.shrink(); )+
            }

            /// Every difference between each live projection and its rebuilt copy.
            fn model_differences(&self, rebuilt: &Self) -> Vec<String> {
                let mut out = Vec::new();
                $( out.extend(self.$field.differences(&rebuilt.$field)); )+
                out
            }
        }
    };
    // A model that reads none: applied first, then readable by the others.
    (@source $field:ident, $envelope:ident, []) => {
        Projection::apply($field, $envelope, ());
        #[allow(unused_variables, reason = "read by no model yet")]
        let $field = Applied::registered(&*$field);
    };
    (@source $field:ident, $envelope:ident, [$($dep:ident),+]) => {};
    (@derived $field:ident, $envelope:ident, []) => {};
    // A model that reads others: given them, each already past the envelope.
    (@derived $field:ident, $envelope:ident, [$($dep:ident),+]) => {
        #[allow(unused_parens, reason = "one model read is passed bare, several as a tuple")]
        Projection::apply($field, $envelope, ($($dep),+));
    };
}
