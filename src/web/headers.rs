//! Security headers sent with every response (filled in by the hardening work).
