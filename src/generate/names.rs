//! The names the generator gives courses, instructors, learners and staff, and the reasons
//! it gives for leaving.

use super::rng::{Rng, mix};
use crate::domain::ReasonCode;
use crate::learner_key::LearnerKey;

// ---- names ----

pub(super) const TOPICS: [&str; 24] = [
    "Rust",
    "Data Engineering",
    "Machine Learning",
    "Web Development",
    "Cloud Architecture",
    "UX Research",
    "Product Management",
    "Statistics",
    "Cybersecurity",
    "Mobile Development",
    "DevOps",
    "SQL",
    "Distributed Systems",
    "Technical Writing",
    "Python",
    "Go",
    "Kubernetes",
    "Public Speaking",
    "Financial Accounting",
    "Spanish",
    "Photography",
    "Design Systems",
    "Project Management",
    "Data Visualisation",
];

pub(super) const FORMATS: [&str; 8] = [
    "{} 101",
    "Introduction to {}",
    "{} Fundamentals",
    "Applied {}",
    "Advanced {}",
    "{} in Practice",
    "{} Bootcamp",
    "{} for Teams",
];

pub(super) const FIRST_NAMES: [&str; 48] = [
    "Ana",
    "Bruno",
    "Chen",
    "Dara",
    "Emeka",
    "Fatima",
    "Gustavo",
    "Hana",
    "Ivan",
    "Jade",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Oscar",
    "Priya",
    "Quentin",
    "Rosa",
    "Samir",
    "Tamar",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Aisha",
    "Ben",
    "Carla",
    "Diego",
    "Elif",
    "Finn",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Keiko",
    "Luca",
    "Maya",
    "Nils",
    "Olga",
    "Pablo",
    "Rin",
    "Sofia",
    "Tomas",
    "Valentina",
    "William",
    "Yara",
];

pub(super) const LAST_NAMES: [&str; 48] = [
    "Lima",
    "Okafor",
    "Nguyen",
    "Schmidt",
    "Kowalski",
    "Haddad",
    "Silva",
    "Tanaka",
    "Petrov",
    "Moreau",
    "Mensah",
    "Johansson",
    "García",
    "Rahman",
    "O'Brien",
    "Patel",
    "Dubois",
    "Rossi",
    "Kaya",
    "Cohen",
    "Iyer",
    "Novak",
    "Zhang",
    "Hernández",
    "Demir",
    "Fischer",
    "Ali",
    "Andersen",
    "Costa",
    "Romero",
    "Yilmaz",
    "Berg",
    "Walker",
    "Lefebvre",
    "Ferreira",
    "Weber",
    "Sato",
    "Bianchi",
    "Kim",
    "Larsen",
    "Ivanova",
    "Torres",
    "Mori",
    "Santos",
    "Horvat",
    "Castillo",
    "Murphy",
    "Adeyemi",
];

pub(super) const VARIANTS: [&str; 8] = [
    "evenings",
    "mornings",
    "weekends",
    "online",
    "on campus",
    "intensive",
    "part-time",
    "hybrid",
];

pub(super) const WITHDRAWAL_REASONS: [(ReasonCode, &str); 12] = [
    (ReasonCode::ScheduleConflict, "schedule conflict"),
    (ReasonCode::Transferred, "moved to another cohort"),
    (ReasonCode::ScheduleConflict, "changed jobs"),
    (ReasonCode::Other, "course too advanced"),
    (ReasonCode::Other, "course too basic"),
    (ReasonCode::Personal, "health reasons"),
    (ReasonCode::Financial, "employer withdrew funding"),
    (ReasonCode::Personal, "relocating"),
    (ReasonCode::Personal, "family commitments"),
    (ReasonCode::Other, "enrolled by mistake"),
    (ReasonCode::Other, "no longer needed for role"),
    (ReasonCode::Other, ""),
];

pub(super) const WAITLIST_REASONS: [&str; 6] = [
    "found a seat elsewhere",
    "no longer interested",
    "will take the next cohort",
    "schedule conflict",
    "asked to be removed",
    "",
];

pub(super) const STAFF: [&str; 6] = [
    "ana.lima",
    "bruno.silva",
    "chen.wei",
    "dara.okafor",
    "emeka.mensah",
    "fatima.haddad",
];

pub(super) fn learner_key(index: u32) -> LearnerKey {
    LearnerKey::parse(&format!("learner-{index:06}@example.org"))
        .expect("generated learner keys are valid")
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "reduced modulo a list's length, a usize"
)]
pub(super) fn learner_name(seed: u64, index: u32) -> String {
    let h = mix(seed ^ 0x6C65_6172_6E65_7273 ^ u64::from(index).wrapping_mul(0x9E37_79B9));
    let first = FIRST_NAMES[(h % FIRST_NAMES.len() as u64) as usize];
    let last = LAST_NAMES[((h >> 32) % LAST_NAMES.len() as u64) as usize];
    format!("{first} {last}")
}

pub(super) fn course_name(index: usize, offset: usize) -> String {
    let n = index + offset;
    let topic = TOPICS[n % TOPICS.len()];
    let format = FORMATS[(n / TOPICS.len()) % FORMATS.len()];
    let name = format.replace("{}", topic);
    let round = n / (TOPICS.len() * FORMATS.len());
    if round == 0 {
        name
    } else {
        format!("{name} (track {})", round + 1)
    }
}

pub(super) fn instructor_name(rng: &mut Rng) -> String {
    let first = rng.pick(&FIRST_NAMES);
    let last = rng.pick(&LAST_NAMES);
    if rng.chance(0.15) {
        format!("Dr. {first} {last}")
    } else {
        format!("{first} {last}")
    }
}

/// Why a learner turns down a seat offered to them.
pub(super) const DECLINE_REASONS: [&str; 4] = [
    "no longer available on those dates",
    "took a place elsewhere",
    "will wait for the next cohort",
    "",
];

/// Why the one cancelled cohort of a history was cancelled.
pub(super) const CANCEL_REASON: &str = "instructor unavailable; learners offered the next cohort";

/// Why the reopened cohort of a history was reopened.
pub(super) const REOPEN_REASON: &str = "closed too early: the employer's group confirmed late";
