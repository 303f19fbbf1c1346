//! The commands of a real term beyond enroll and withdraw: which cohorts hold freed seats as
//! offers (and cap their waitlist), the answers to those offers, their expiry, and the one-off
//! corrections a history holds (a cancelled cohort, a reopening, a reschedule, a change of
//! details, a change of policy). Each is mirrored, so that the rules refuse none of them.

use jiff::SignedDuration;

use super::names::{CANCEL_REASON, DECLINE_REASONS, REOPEN_REASON, learner_key};
use super::rng::Rng;
use super::sim::Sim;
use super::special::Special;
use super::{DAY_MS, HOUR_MS, at};
use crate::domain::PromotionPolicy;
use crate::writer::Request;

/// The share of cohorts created with the offer policy.
const SHARE_OFFER_POLICY: f64 = 0.25;
/// The holds an offer policy is created with.
const HOLDS_HOURS: [i64; 3] = [24, 48, 72];
/// The hold the one change of policy sets.
const CHANGED_HOLD_HOURS: i64 = 48;
/// Of the commands chosen for a cohort holding offers, the share that answers one.
const SHARE_ANSWERING: f64 = 0.4;
/// Of the answers, the share that accepts (the rest decline); unanswered offers expire.
const SHARE_ACCEPTING: f64 = 0.75;

/// The offer policy's hold in milliseconds as the domain's duration.
fn policy(hold_ms: Option<i64>) -> PromotionPolicy {
    hold_ms.map_or(PromotionPolicy::Automatic, |ms| PromotionPolicy::Offer {
        hold: SignedDuration::from_millis(ms),
    })
}

/// A cap above the crowding at which departures always come (`capacity / 4 + 2`), so that it
/// is reached now and then, not always.
fn cap_for(capacity: u32) -> u32 {
    capacity / 3 + 3
}

impl Sim {
    /// Gives a share of the cohorts the offer policy (a hold of 24, 48 or 72 h) and a
    /// waitlist cap, from a stream of their own (the rest of the plan is as before).
    pub(super) fn assign_policies(&mut self) {
        let mut rng = Rng::new(self.seed, 5);
        for c in &mut self.cohorts {
            if rng.chance(SHARE_OFFER_POLICY) {
                c.hold_ms = Some(rng.pick(&HOLDS_HOURS) * HOUR_MS);
                c.waitlist_cap = Some(cap_for(c.initial_capacity));
            }
        }
    }

    /// The one-off commands of the history, in time order: each on its own cohort, early
    /// enough to fall inside the history. The reopening follows the first scheduled closing
    /// that leaves time before the cohort starts.
    pub(super) fn plan_specials(
        &self,
        closings: &[(i64, u32)],
        end_ms: i64,
    ) -> Vec<(i64, u32, Special)> {
        let cohorts = &self.cohorts;
        let mut rng = Rng::new(self.seed, 6);
        let mut specials = Vec::new();
        let reopen = closings.iter().find(|&&(t, i)| {
            let c = &cohorts[i as usize];
            t + 2 * HOUR_MS < c.first_session_ms - HOUR_MS && t + 2 * HOUR_MS <= end_ms
        });
        if let Some(&(t, i)) = reopen {
            specials.push((t + 2 * HOUR_MS, i, Special::Reopen));
        }
        let mut candidates: Vec<u32> = (0..cohorts.len())
            .filter_map(|i| u32::try_from(i).ok())
            .filter(|&i| {
                cohorts[i as usize].created_ms + 8 * DAY_MS <= end_ms
                    && reopen.is_none_or(|&(_, r)| r != i)
            })
            .collect();
        for (special, after_days) in [
            (Special::Policy, 3),
            (Special::Cancel, 7),
            (Special::Reschedule, 2),
            (Special::Details, 1),
        ] {
            let eligible: Vec<usize> = (0..candidates.len())
                .filter(|&k| {
                    !matches!(special, Special::Policy)
                        || cohorts[candidates[k] as usize].hold_ms.is_none()
                })
                .collect();
            if eligible.is_empty() {
                continue;
            }
            // The cancelled cohort is the least popular: the one that would not fill.
            let k = if matches!(special, Special::Cancel) {
                eligible
                    .iter()
                    .copied()
                    .min_by(|&a, &b| {
                        let weight = |k: usize| cohorts[candidates[k] as usize].weight;
                        weight(a).total_cmp(&weight(b))
                    })
                    .expect("not empty")
            } else {
                eligible[rng.index(eligible.len())]
            };
            let i = candidates.swap_remove(k);
            specials.push((
                cohorts[i as usize].created_ms + after_days * DAY_MS,
                i,
                special,
            ));
        }
        specials.sort_by_key(|&(t, i, _)| (t, i));
        specials
    }

    /// The request creating cohort `i` under its policy, with the events it writes (its
    /// creation, and the policy when not the default).
    pub(super) fn create_with_policy(&mut self, i: u32) -> (Request, u64) {
        let mut request = self.create(i);
        let c = &self.cohorts[i as usize];
        let mut events = 1;
        if let Request::Create { new, .. } = &mut request {
            new.promotion = policy(c.hold_ms);
            new.waitlist_cap = c.waitlist_cap;
            if c.hold_ms.is_some() || c.waitlist_cap.is_some() {
                events = 2;
            }
        }
        (request, events)
    }

    /// Now and then, an answer to one of cohort `i`'s offers: accepted (the learner takes the
    /// seat) or declined (the seat goes to the next in line). Offers left unanswered expire.
    pub(super) fn answer_offer(&mut self, i: u32, t: i64) -> Option<(Request, u64)> {
        if self.cohorts[i as usize].offers.is_empty() || !self.rng.chance(SHARE_ANSWERING) {
            return None;
        }
        let at = self.rng.index(self.cohorts[i as usize].offers.len());
        let accept = self.rng.chance(SHARE_ACCEPTING);
        let reason = self.rng.pick(&DECLINE_REASONS);
        let c = &mut self.cohorts[i as usize];
        let (learner, _) = c.offers.remove(at);
        if accept {
            c.enrolled.push(learner);
            let request = Request::AcceptOffer {
                cohort: c.id,
                learner: learner_key(learner),
            };
            return Some((request, 1));
        }
        let events = 1 + c.promote(t);
        let request = Request::DeclineOffer {
            cohort: c.id,
            learner: learner_key(learner),
            reason: reason.to_owned(),
        };
        Some((request, events))
    }

    /// The expiry of cohort `i`'s offers due by `t` (as the scheduler submits it), with the
    /// events it writes; `None` when none is due.
    pub(super) fn expire_offers(&mut self, i: u32, t: i64) -> Option<(Request, u64)> {
        let c = &mut self.cohorts[i as usize];
        let events = c.expire(t);
        (events > 0).then_some((Request::ExpireOffers { cohort: c.id }, events))
    }

    /// The one-off command `special` for cohort `i` at `t`, applied to the mirror, with the
    /// events it writes; `None` when the cohort is not in a state it applies to.
    pub(super) fn special(&mut self, i: u32, special: Special, t: i64) -> Option<(Request, u64)> {
        let instructors = self.instructors.len();
        let c = &mut self.cohorts[i as usize];
        if !c.created || c.cancelled {
            return None;
        }
        let cohort = c.id;
        match special {
            Special::Cancel => {
                let events = 1 + u64::from(c.seats_taken()) + c.waitlist.len() as u64;
                c.enrolled.clear();
                c.offers.clear();
                c.waitlist.clear();
                (c.cancelled, c.closed) = (true, true);
                self.active.retain(|&a| a != i);
                Some((
                    Request::Cancel {
                        cohort,
                        reason: CANCEL_REASON.to_owned(),
                    },
                    events,
                ))
            }
            Special::Reopen => {
                let deadline = c.first_session_ms - HOUR_MS;
                if !c.closed || deadline <= t {
                    return None;
                }
                let moved = deadline != c.enroll_by_ms;
                c.enroll_by_ms = deadline;
                c.closed = false;
                let events = 1 + u64::from(moved) + c.promote(t);
                Some((
                    Request::Reopen {
                        cohort,
                        reason: REOPEN_REASON.to_owned(),
                        enrollment_deadline: moved.then(|| at(deadline)),
                    },
                    events,
                ))
            }
            Special::Reschedule => {
                c.first_session_ms += 7 * DAY_MS;
                c.withdraw_by_ms += 7 * DAY_MS;
                Some((
                    Request::Reschedule {
                        cohort,
                        starts_at: Some(at(c.first_session_ms)),
                        enrollment_deadline: None,
                        withdrawal_deadline: Some(at(c.withdraw_by_ms)),
                        ends_at: Some(at(c.ends_ms())),
                    },
                    1,
                ))
            }
            Special::Details => {
                let course = self.courses[c.course as usize].clone();
                let (name, instructor) = if instructors > 1 {
                    #[allow(
                        clippy::cast_possible_truncation,
                        reason = "below the instructor count, a u32 option"
                    )]
                    let next = ((c.instructor as usize + 1) % instructors) as u32;
                    c.instructor = next;
                    (None, Some(self.instructors[next as usize].clone()))
                } else {
                    (Some(format!("{course} — in a larger room")), None)
                };
                Some((
                    Request::ChangeDetails {
                        cohort,
                        name,
                        course: None,
                        instructor,
                    },
                    1,
                ))
            }
            Special::Policy => {
                c.hold_ms = Some(CHANGED_HOLD_HOURS * HOUR_MS);
                c.waitlist_cap = Some(cap_for(c.capacity));
                let events = 1 + c.promote(t);
                Some((
                    Request::SetPolicy {
                        cohort,
                        promotion: policy(c.hold_ms),
                        waitlist_cap: c.waitlist_cap,
                    },
                    events,
                ))
            }
        }
    }
}
