//! Serving HTTP connections: the accept loop, with the limits that keep slow or numerous
//! clients from pinning the server (filled in by the hardening work).
