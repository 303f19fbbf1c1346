//! Hardening: limits, timeouts and headers against slow, large and hostile clients.
