//! Black-box, crash and fixture tests of Docket, and its benchmark binaries.
//! The library holds what the tests and binaries share.

#![warn(missing_docs)]

pub mod harness;
pub mod nats_support;
pub mod smtp_support;
pub mod store_support;
pub mod ticket_log;
pub mod webdriver_support;
