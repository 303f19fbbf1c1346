//! Rule tests: given events, when a command, then events or a violation.
