//! The simulation: each cohort's plan (fixed by the seed), a mirror of its roster and
//! waitlist so only what the rules allow is asked, and the schedule of steps.

use std::collections::VecDeque;

use super::names::{
    STAFF, TOPICS, VARIANTS, WAITLIST_REASONS, WITHDRAWAL_REASONS, course_name, instructor_name,
    learner_key, learner_name,
};
use super::rng::Rng;
use super::special::Special;
use super::{
    DAY_MS, GenerateOptions, HOUR_MS, MAX_STEP_SLOTS, MINUTE_MS, SLOT_MS, SPAN_MS, Tally, at,
};
use crate::domain::{Capacity, CohortId, NewCohort};
use crate::writer::Request;

// ---- the plan and the mirror ----

/// One cohort: its plan (fixed by the seed) and a mirror of its state.
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent facts: created, closed, cancelled, and a trait of the plan"
)]
pub(super) struct SimCohort {
    pub(super) id: CohortId,
    pub(super) created_ms: i64,
    pub(super) enroll_by_ms: i64,
    pub(super) first_session_ms: i64,
    pub(super) withdraw_by_ms: i64,
    pub(super) weight: f64,
    pub(super) course: u32,
    pub(super) instructor: u32,
    pub(super) variant: u8,
    pub(super) initial_capacity: u32,
    // The mirror.
    pub(super) created: bool,
    pub(super) closed: bool,
    pub(super) capacity: u32,
    pub(super) enrolled: Vec<u32>,
    pub(super) waitlist: VecDeque<u32>,
    /// Departures after the enrollment deadline so far.
    pub(super) late_departures: u32,
    /// Staff close this cohort early once it is full and learners wait.
    pub(super) closes_when_full: bool,
    /// How long a freed seat is held as an offer (`None`: promoted at once).
    pub(super) hold_ms: Option<i64>,
    /// The most learners that may wait (`None`: no limit).
    pub(super) waitlist_cap: Option<u32>,
    /// Outstanding offers: (learner, expiry instant), in the order made.
    pub(super) offers: Vec<(u32, i64)>,
    /// Cancelled: holds nobody and takes no command.
    pub(super) cancelled: bool,
}

impl SimCohort {
    /// The end of its last session: four to eight weeks after the first, from numbers already
    /// drawn (so the random sequence, and every other part of a generated history, stays as it
    /// was before cohorts had ends).
    pub(super) fn ends_ms(&self) -> i64 {
        self.first_session_ms + i64::from(4 + self.initial_capacity % 5) * 7 * DAY_MS
    }

    /// Random commands' weight at `t`: popularity × phase.
    pub(super) fn weight_at(&self, t: i64) -> f64 {
        if !self.created || t > self.withdraw_by_ms {
            0.0
        } else if t <= self.enroll_by_ms {
            self.weight
        } else {
            self.weight * POST_DEADLINE_WEIGHT
        }
    }

    pub(super) fn holds(&self, learner: u32) -> bool {
        self.enrolled.contains(&learner)
            || self.waitlist.contains(&learner)
            || self.offers.iter().any(|&(l, _)| l == learner)
    }

    /// Seats enrolled or held by an offer: a held seat counts as taken.
    pub(super) fn seats_taken(&self) -> u32 {
        count(self.enrolled.len() + self.offers.len())
    }

    /// Fills free seats from the waitlist head while open, as the rules do at `t`: promoted at
    /// once, or offered until `t` + the hold. Returns how many events that writes.
    pub(super) fn promote(&mut self, t: i64) -> u64 {
        let mut filled = 0;
        while !self.closed && self.seats_taken() < self.capacity {
            let Some(head) = self.waitlist.pop_front() else {
                break;
            };
            match self.hold_ms {
                None => self.enrolled.push(head),
                Some(hold) => self.offers.push((head, t + hold)),
            }
            filled += 1;
        }
        filled
    }

    /// Expires the offers due by `t` and fills the seats they free, as the decision of any
    /// command at `t` does first. Returns how many events that writes (0: nothing was due).
    pub(super) fn expire(&mut self, t: i64) -> u64 {
        let before = self.offers.len();
        self.offers.retain(|&(_, expires)| expires > t);
        let expired = (before - self.offers.len()) as u64;
        if expired == 0 {
            return 0;
        }
        expired + self.promote(t)
    }
}

pub(super) const POST_DEADLINE_WEIGHT: f64 = 0.1;
/// The chance a step starts with a transfer.
pub(super) const TRANSFER_CHANCE: f64 = 0.25;
/// Capacity changes stay within these seats.
pub(super) const MIN_SEATS: u32 = 6;
pub(super) const MAX_SEATS: u32 = 80;
pub(super) const SHARE_CLOSED_AFTER_DEADLINE: f64 = 0.55;
pub(super) const SHARE_CLOSED_WHEN_FULL: f64 = 0.08;

/// The simulation: plan, mirror, and the randomness driving commands.
pub(super) struct Sim {
    pub(super) seed: u64,
    pub(super) learners: u32,
    pub(super) cohorts: Vec<SimCohort>,
    pub(super) courses: Vec<String>,
    pub(super) instructors: Vec<String>,
    /// Indices of created cohorts not yet past their withdrawal deadline.
    pub(super) active: Vec<u32>,
    pub(super) max_weight: f64,
    /// Learners filed in the directory.
    pub(super) filed: Vec<bool>,
    pub(super) filed_count: u64,
    pub(super) rng: Rng,
}

/// The actor index of rollbook itself (after the staff), which expires offers.
#[allow(
    clippy::cast_possible_truncation,
    reason = "STAFF has a handful of names"
)]
pub(super) const SYSTEM: u8 = STAFF.len() as u8;

/// A command of a step, before it gets its ids.
pub(super) struct Planned {
    pub(super) request: Request,
    pub(super) actor: u8,
}

impl Sim {
    pub(super) fn plan(options: &GenerateOptions, start_ms: i64) -> Self {
        let mut rng = Rng::new(options.seed, 1);
        let n = options.cohorts as usize;
        let course_count = options
            .courses
            .map_or((n / 20).max(1), |c| c.max(1) as usize);
        let course_offset = rng.index(TOPICS.len());
        let courses = (0..course_count)
            .map(|i| course_name(i, course_offset))
            .collect();
        let instructor_count = options
            .instructors
            .map_or(n / 50 + 1, |i| i.max(1) as usize);
        let instructors = (0..instructor_count)
            .map(|_| instructor_name(&mut rng))
            .collect();
        // Creation instants first, in order, so cohort ids sort by creation as v7 ids should.
        let mut created: Vec<i64> = (0..n)
            .map(|_| start_ms + rng.below((SPAN_MS - DAY_MS) as u64) as i64)
            .collect();
        created.sort_unstable();
        let day_floor = |ms: i64| ms - ms.rem_euclid(DAY_MS);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "indexes below the course and instructor counts (u32 options) and a handful of variants"
        )]
        let cohorts: Vec<SimCohort> = created
            .into_iter()
            .map(|created_ms| {
                let enroll_by_ms = day_floor(created_ms + rng.range(14, 35) as i64 * DAY_MS)
                    + 23 * HOUR_MS
                    + 59 * MINUTE_MS;
                let hour = if rng.chance(0.5) { 9 } else { 18 };
                let first_session_ms =
                    day_floor(enroll_by_ms) + rng.range(1, 7) as i64 * DAY_MS + hour * HOUR_MS;
                let withdraw_by_ms = day_floor(first_session_ms)
                    + rng.range(3, 14) as i64 * DAY_MS
                    + 23 * HOUR_MS
                    + 59 * MINUTE_MS;
                // Roughly normal (sum of three uniforms), so popularity is log-normal.
                let z = (rng.unit() + rng.unit() + rng.unit() - 1.5) * 2.0;
                let weight = (0.7 * z).exp().clamp(0.25, 4.0);
                let capacity = u32::midpoint(rng.range_u32(8, 60), rng.range_u32(8, 60));
                let closes_when_full = rng.chance(SHARE_CLOSED_WHEN_FULL);
                SimCohort {
                    id: CohortId(rng.uuid_at(created_ms)),
                    created_ms,
                    enroll_by_ms,
                    first_session_ms,
                    withdraw_by_ms,
                    weight,
                    course: rng.index(course_count) as u32,
                    instructor: rng.index(instructor_count) as u32,
                    variant: rng.index(VARIANTS.len()) as u8,
                    initial_capacity: capacity,
                    created: false,
                    closed: false,
                    capacity,
                    enrolled: Vec::new(),
                    waitlist: VecDeque::new(),
                    late_departures: 0,
                    closes_when_full,
                    hold_ms: None,
                    waitlist_cap: None,
                    offers: Vec::new(),
                    cancelled: false,
                }
            })
            .collect();
        let max_weight = cohorts.iter().map(|c| c.weight).fold(0.0, f64::max);
        let mut sim = Self {
            seed: options.seed,
            learners: options.learners,
            cohorts,
            courses,
            instructors,
            active: Vec::new(),
            max_weight,
            filed: vec![false; options.learners as usize],
            filed_count: 0,
            rng: Rng::new(options.seed, 2),
        };
        sim.assign_policies();
        sim
    }

    /// The scheduled closings: (instant, cohort), in time order.
    pub(super) fn closings(&mut self) -> Vec<(i64, u32)> {
        let mut rng = Rng::new(self.seed, 3);
        let mut closings: Vec<(i64, u32)> = self
            .cohorts
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let delay = rng.below((72 * HOUR_MS) as u64) as i64;
                let closes = rng.chance(SHARE_CLOSED_AFTER_DEADLINE);
                // Never skips: there are at most `options.cohorts` (a u32) cohorts.
                let i = u32::try_from(i).ok()?;
                closes.then_some((c.enroll_by_ms + delay, i))
            })
            .collect();
        closings.sort_unstable();
        closings
    }

    /// The request creating cohort `i`; marks it created.
    pub(super) fn create(&mut self, i: u32) -> Request {
        let c = &mut self.cohorts[i as usize];
        c.created = true;
        self.active.push(i);
        let course = &self.courses[c.course as usize];
        let month = at(c.first_session_ms).strftime("%B %Y");
        let new = NewCohort {
            name: format!("{course} — {month}, {}", VARIANTS[c.variant as usize]),
            course: course.clone(),
            instructor: self.instructors[c.instructor as usize].clone(),
            capacity: Capacity::new(u64::from(c.initial_capacity)).expect("8–60 seats"),
            starts_at: at(c.first_session_ms),
            enrollment_deadline: at(c.enroll_by_ms),
            withdrawal_deadline: at(c.withdraw_by_ms),
            // Four to eight weeks of sessions, from numbers already drawn (the random sequence,
            // and so every generated history, stays as it was apart from the end dates).
            ends_at: Some(at(c.ends_ms())),
            promotion: crate::domain::PromotionPolicy::Automatic,
            waitlist_cap: None,
        };
        Request::Create { cohort: c.id, new }
    }

    /// Forgets cohorts past their withdrawal deadline: no command is chosen for them any more.
    pub(super) fn retire(&mut self, t: i64) {
        let cohorts = &self.cohorts;
        self.active.retain(|&i| {
            let c = &cohorts[i as usize];
            t <= c.withdraw_by_ms && !c.cancelled
        });
    }

    /// Chooses one random command at `t`, applies it to the mirror, and returns it with the
    /// number of events it will write; `None` when no live cohort has anything sensible to do.
    pub(super) fn random_command(&mut self, t: i64) -> Option<(Request, u64)> {
        if self.active.is_empty() {
            return None;
        }
        for _ in 0..64 {
            let i = self.active[self.rng.index(self.active.len())];
            let weight = self.cohorts[i as usize].weight_at(t);
            if self.rng.unit() * self.max_weight >= weight {
                continue;
            }
            if let Some(chosen) = self.command_for(i, t) {
                return Some(chosen);
            }
        }
        None
    }

    pub(super) fn command_for(&mut self, i: u32, t: i64) -> Option<(Request, u64)> {
        // The mix, in order: an answer to an offer, then (below) enrollments, departures,
        // capacity changes and closings; each branch returns when it applies.
        if let Some(answer) = self.answer_offer(i, t) {
            return Some(answer);
        }
        let c = &self.cohorts[i as usize];
        let id = c.id;
        let taking_enrollments = !c.closed && t <= c.enroll_by_ms;
        let before_start = t <= c.first_session_ms;
        let can_withdraw = t <= c.withdraw_by_ms && !c.enrolled.is_empty();
        let waiting = !c.waitlist.is_empty();
        let u = self.rng.unit();
        if taking_enrollments {
            let full = c.seats_taken() >= c.capacity;
            let crowded = count(c.waitlist.len()) >= c.capacity / 4 + 2;
            if u < 0.03 && before_start {
                return self.change_capacity(i, t);
            }
            if c.closes_when_full && full && c.waitlist.len() >= 2 && self.rng.chance(0.2) {
                self.cohorts[i as usize].closed = true;
                return Some((Request::Close { cohort: id }, 1));
            }
            if crowded || u < 0.23 {
                if waiting && (!can_withdraw || self.rng.chance(0.3)) {
                    return Some(self.leave_waitlist(i));
                }
                if can_withdraw {
                    return Some(self.withdraw(i, t));
                }
            }
            return self.enroll(i);
        }
        // After the enrollment deadline most learners stay: late departures are capped.
        let late_quota_left = c.late_departures < (c.capacity / 6).max(1);
        if u < 0.06 && before_start {
            return self.change_capacity(i, t);
        }
        if !late_quota_left {
            return None;
        }
        let departure = if can_withdraw && (!waiting || self.rng.chance(0.7)) {
            self.withdraw(i, t)
        } else if waiting {
            self.leave_waitlist(i)
        } else {
            return None;
        };
        self.cohorts[i as usize].late_departures += 1;
        Some(departure)
    }

    pub(super) fn enroll(&mut self, i: u32) -> Option<(Request, u64)> {
        let busy = (self.learners / 10).max(1);
        for _ in 0..8 {
            let learner = if self.rng.chance(0.25) {
                self.rng.below_u32(busy)
            } else {
                self.rng.below_u32(self.learners)
            };
            let c = &mut self.cohorts[i as usize];
            if c.holds(learner) {
                continue;
            }
            if c.seats_taken() < c.capacity {
                c.enrolled.push(learner);
            } else if c
                .waitlist_cap
                .is_some_and(|cap| count(c.waitlist.len()) >= cap)
            {
                // Full, and the waitlist at its cap: the rules would refuse.
                return None;
            } else {
                c.waitlist.push_back(learner);
            }
            let cohort = c.id;
            if !self.filed[learner as usize] {
                self.filed[learner as usize] = true;
                self.filed_count += 1;
            }
            let request = Request::Enroll {
                cohort,
                learner: learner_key(learner),
                name: Some(learner_name(self.seed, learner)),
            };
            return Some((request, 1));
        }
        None
    }

    pub(super) fn withdraw(&mut self, i: u32, t: i64) -> (Request, u64) {
        let at = self.rng.index(self.cohorts[i as usize].enrolled.len());
        let (reason_code, reason) = self.rng.pick(&WITHDRAWAL_REASONS);
        let c = &mut self.cohorts[i as usize];
        let learner = c.enrolled.swap_remove(at);
        let events = 1 + c.promote(t);
        let request = Request::Withdraw {
            cohort: c.id,
            learner: learner_key(learner),
            reason_code,
            reason: reason.to_owned(),
        };
        (request, events)
    }

    pub(super) fn leave_waitlist(&mut self, i: u32) -> (Request, u64) {
        let at = self.rng.index(self.cohorts[i as usize].waitlist.len());
        let reason = self.rng.pick(&WAITLIST_REASONS).to_owned();
        let c = &mut self.cohorts[i as usize];
        let learner = c.waitlist.remove(at).expect("index within the waitlist");
        let request = Request::LeaveWaitlist {
            cohort: c.id,
            learner: learner_key(learner),
            reason,
        };
        (request, 1)
    }

    /// Moves a learner of a live cohort (enrolled or waitlisted) to another cohort taking
    /// enrollments at `t` that does not hold them: a seat there if one is free, else its
    /// waitlist; the seat freed goes to the waitlist head. `None` when the cohorts drawn allow
    /// no move.
    ///
    /// A step's commands are decided grouped by cohort id, each cohort's in the order asked. A
    /// transfer, asked first in its step, is grouped under the cohort left; so that it is also
    /// decided before every command of its step on the cohort joined, as the mirror has it, the
    /// cohort joined is one of a higher id.
    pub(super) fn transfer(&mut self, t: i64) -> Option<(Request, u64)> {
        const REASONS: [&str; 3] = ["prefers the other time", "schedule change", "asked to move"];
        let i = *self.active.get(self.rng.index(self.active.len()))?;
        let from = &self.cohorts[i as usize];
        let held = from.enrolled.len() + from.waitlist.len();
        if held == 0 {
            return None;
        }
        let at = self.rng.index(held);
        let learner = from
            .enrolled
            .iter()
            .chain(&from.waitlist)
            .nth(at)
            .copied()?;
        let j = *self.active.get(self.rng.index(self.active.len()))?;
        let to = &self.cohorts[j as usize];
        // Created a day ago or more, so in an earlier step (a step lasts a day at most): a
        // creation asked in this step is decided after the transfer, grouped under its cohort.
        let to_full = to.seats_taken() >= to.capacity;
        // Into an automatic cohort holding no offer: an offer of its falling due in this step
        // is expired by its own group, decided after the transfer (see above).
        if to.id <= from.id
            || !to.created
            || t - to.created_ms < DAY_MS
            || to.closed
            || to.cancelled
            || from.cancelled
            || to.hold_ms.is_some()
            || !to.offers.is_empty()
            || t > to.enroll_by_ms
            || to.holds(learner)
            || (to_full
                && to
                    .waitlist_cap
                    .is_some_and(|cap| count(to.waitlist.len()) >= cap))
            || (from.enrolled.contains(&learner) && t > from.withdraw_by_ms)
        {
            return None;
        }
        let reason = self.rng.pick(&REASONS).to_owned();
        let from = &mut self.cohorts[i as usize];
        if let Some(seat) = from.enrolled.iter().position(|l| *l == learner) {
            from.enrolled.remove(seat);
        } else {
            from.waitlist.retain(|l| *l != learner);
        }
        let (cohort, promoted) = (from.id, from.promote(t));
        let to = &mut self.cohorts[j as usize];
        if to_full {
            to.waitlist.push_back(learner);
        } else {
            to.enrolled.push(learner);
        }
        let request = Request::Transfer {
            cohort,
            to: to.id,
            learner: learner_key(learner),
            allow_waitlist: true,
            reason,
        };
        Some((request, 2 + promoted))
    }

    pub(super) fn change_capacity(&mut self, i: u32, t: i64) -> Option<(Request, u64)> {
        let c = &self.cohorts[i as usize];
        let enrolled = c.seats_taken();
        let low = enrolled.max(c.capacity * 2 / 3).max(MIN_SEATS);
        let up = match (c.capacity < MAX_SEATS, low < c.capacity) {
            (false, false) => return None,
            (true, true) => self.rng.chance(0.6),
            (up, _) => up,
        };
        let capacity = if up {
            (c.capacity + self.rng.range_u32(1, 6)).min(MAX_SEATS)
        } else {
            self.rng.range_u32(low, c.capacity - 1)
        };
        let new = Capacity::new(u64::from(capacity)).ok()?;
        let c = &mut self.cohorts[i as usize];
        c.capacity = capacity;
        let events = 1 + c.promote(t);
        Some((
            Request::ChangeCapacity {
                cohort: c.id,
                capacity: new,
            },
            events,
        ))
    }
}

/// The end instants of the simulated steps: each holds about the same amount of activity (so
/// about one batch), and none is longer than a day.
pub(super) fn plan_steps(
    cohorts: &[SimCohort],
    start_ms: i64,
    end_ms: i64,
    target_steps: usize,
) -> Vec<Step> {
    let slots = usize::try_from((end_ms - start_ms) / SLOT_MS).unwrap_or(0);
    let slot_of = |ms: i64| {
        usize::try_from(((ms - start_ms) / SLOT_MS).max(0))
            .unwrap_or(usize::MAX)
            .min(slots)
    };
    let mut delta = vec![0.0f64; slots + 1];
    for c in cohorts {
        delta[slot_of(c.created_ms)] += c.weight;
        delta[slot_of(c.enroll_by_ms)] -= c.weight * (1.0 - POST_DEADLINE_WEIGHT);
        delta[slot_of(c.withdraw_by_ms)] -= c.weight * POST_DEADLINE_WEIGHT;
    }
    let mut level = 0.0;
    let exposure: Vec<f64> = delta[..slots]
        .iter()
        .map(|d| {
            level += d;
            level.max(0.0)
        })
        .collect();
    let total: f64 = exposure.iter().sum();
    let per_step = total / target_steps.max(1) as f64;
    let mut out = Vec::new();
    let (mut sum, mut width) = (0.0, 0);
    for (slot, e) in exposure.iter().enumerate() {
        sum += e;
        width += 1;
        if sum >= per_step || width >= MAX_STEP_SLOTS || slot + 1 == slots {
            let end = if slot + 1 == slots {
                end_ms
            } else {
                start_ms + (slot as i64 + 1) * SLOT_MS
            };
            out.push(Step {
                end_ms: end,
                exposure: sum,
            });
            (sum, width) = (0.0, 0);
        }
    }
    out
}

/// One simulated step.
#[derive(Clone, Copy)]
pub(super) struct Step {
    pub(super) end_ms: i64,
    /// Popularity × phase × minutes of the live cohorts in the step.
    pub(super) exposure: f64,
}

/// What to write, step by step: the plan, the mirror, and where the simulation stands.
pub(super) struct Schedule {
    pub(super) sim: Sim,
    /// Scheduled closings within the history: (instant, cohort), in time order.
    pub(super) closings: Vec<(i64, u32)>,
    /// The one-off commands: (instant, cohort, what), in time order.
    pub(super) specials: Vec<(i64, u32, Special)>,
    pub(super) next_special: usize,
    pub(super) steps: Vec<Step>,
    pub(super) next_step: usize,
    /// Exposure of the steps not taken yet.
    pub(super) exposure_ahead: f64,
    pub(super) next_create: usize,
    pub(super) next_close: usize,
    pub(super) end_ms: i64,
    pub(super) target: u64,
    pub(super) max_commands: usize,
    pub(super) tally: Tally,
}

impl Schedule {
    pub(super) fn new(options: &GenerateOptions, start_ms: i64, end_ms: i64) -> Self {
        let batch = options.batch.max(1);
        let mut sim = Sim::plan(options, start_ms);
        let mut closings = sim.closings();
        closings.retain(|&(t, _)| t <= end_ms);
        let specials = sim.plan_specials(&closings, end_ms);
        // About 1.1 events per submission (promotions ride along with withdrawals).
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a float-to-int cast saturates, as a step count should"
        )]
        let target_steps = (options.events as f64 / 1.1 / batch as f64).ceil() as usize;
        let steps = plan_steps(&sim.cohorts, start_ms, end_ms, target_steps);
        Self {
            exposure_ahead: steps.iter().map(|s| s.exposure).sum(),
            sim,
            closings,
            specials,
            next_special: 0,
            steps,
            next_step: 0,
            next_create: 0,
            next_close: 0,
            end_ms,
            target: options.events,
            max_commands: batch * 2,
            tally: Tally::default(),
        }
    }

    /// The next step: its instant, whether it lies past the planned steps (topping up at the
    /// end), and its commands, grouped by cohort.
    pub(super) fn next(&mut self) -> (i64, bool, Vec<Planned>) {
        let step = self.steps.get(self.next_step).copied();
        self.next_step += 1;
        let t = step.map_or(self.end_ms, |s| s.end_ms);
        let mut planned = Vec::new();
        self.due(t, &mut planned);
        self.sim.retire(t);
        self.random_commands(step, t, &mut planned);
        // All of a step is decided at one instant, so its order across cohorts is free: grouped
        // by cohort (stable, so each cohort's own commands keep their order), a batch touches
        // each cohort's pages in the store once, in key order, which makes commits markedly
        // cheaper.
        planned.sort_by_key(|p| p.request.cohort());
        (t, step.is_none(), planned)
    }

    pub(super) fn push(&mut self, planned: &mut Vec<Planned>, request: Request, events: u64) {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "STAFF has a handful of names"
        )]
        let actor = self.sim.rng.index(STAFF.len()) as u8;
        planned.push(Planned { request, actor });
        self.tally.predicted += events;
    }

    /// The expiries, creations, scheduled closings and one-off commands due by `t`.
    pub(super) fn due(&mut self, t: i64, planned: &mut Vec<Planned>) {
        // First, as a command at `t` would: the offers whose hold ran out, by the scheduler.
        for k in 0..self.sim.cohorts.len() {
            let i = u32::try_from(k).expect("below the cohort count, a u32 option");
            if let Some((request, events)) = self.sim.expire_offers(i, t) {
                planned.push(Planned {
                    request,
                    actor: SYSTEM,
                });
                self.tally.predicted += events;
            }
        }
        while self.next_create < self.sim.cohorts.len()
            && self.sim.cohorts[self.next_create].created_ms <= t
            && self.tally.predicted < self.target
        {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "below the cohort count, a u32 option"
            )]
            let (request, events) = self.sim.create_with_policy(self.next_create as u32);
            self.push(planned, request, events);
            self.next_create += 1;
        }
        while self.next_close < self.closings.len() && self.closings[self.next_close].0 <= t {
            let i = self.closings[self.next_close].1;
            self.next_close += 1;
            let c = &mut self.sim.cohorts[i as usize];
            if c.created && !c.closed && self.tally.predicted < self.target {
                c.closed = true;
                let cohort = c.id;
                self.push(planned, Request::Close { cohort }, 1);
            }
        }
        while self.next_special < self.specials.len() && self.specials[self.next_special].0 <= t {
            let (_, i, special) = self.specials[self.next_special];
            self.next_special += 1;
            if self.tally.predicted >= self.target {
                continue;
            }
            if let Some((request, events)) = self.sim.special(i, special, t) {
                self.push(planned, request, events);
            }
        }
    }

    /// The step's random commands: the events still wanted (less the creations and closings
    /// still to come), spread over the activity still ahead, at the events per command seen.
    pub(super) fn random_commands(
        &mut self,
        step: Option<Step>,
        t: i64,
        planned: &mut Vec<Planned>,
    ) {
        let fixed_ahead = (self.sim.cohorts.len() - self.next_create)
            + (self.closings.len() - self.next_close)
            + (self.specials.len() - self.next_special);
        let wanted = self
            .target
            .saturating_sub(self.tally.predicted + fixed_ahead as u64) as f64;
        let per_command = self.tally.events_per_command();
        let commands = match step {
            Some(s) if self.exposure_ahead > 0.0 => {
                let share = s.exposure / self.exposure_ahead;
                self.exposure_ahead -= s.exposure;
                (wanted / per_command * share).round()
            }
            _ => (wanted / per_command).ceil(),
        };
        // Now and then a learner moves between cohorts: first in the step (see `Sim::transfer`).
        if commands > 0.0 && self.sim.rng.chance(TRANSFER_CHANCE) {
            if let Some((request, events)) = self.sim.transfer(t) {
                self.push(planned, request, events);
                self.tally.command_events += events;
                self.tally.commands += 1;
            }
        }
        let mut misses = 0;
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a float-to-int cast saturates, as a command count should"
        )]
        let commands = commands as usize;
        for _ in 0..commands.min(self.max_commands) {
            if self.tally.predicted >= self.target {
                break;
            }
            let Some((request, events)) = self.sim.random_command(t) else {
                // Nothing sensible found among the live cohorts: try a few times, then leave
                // the rest to the steps ahead.
                misses += 1;
                if misses >= 4 {
                    break;
                }
                continue;
            };
            misses = 0;
            self.push(planned, request, events);
            self.tally.command_events += events;
            self.tally.commands += 1;
        }
    }
}

/// A collection's length as a count of seats or learners, saturating (the simulator's hold at
/// most a few thousand).
fn count(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}
