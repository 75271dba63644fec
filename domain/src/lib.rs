//! Docket's domain: the ticket and org-policy deciders, the business calendar
//! and the SLA clocks; every rule of the contract lives here and nowhere else.
//!
//! Pure by design: no I/O, no clock, no randomness, no async. Time, the actor,
//! the policy in force and fresh ids are passed in; `decide` returns events or
//! a `DomainError`, `apply` folds an event into state and never fails.

#![warn(missing_docs)]

pub mod access;
pub mod attachment;
pub mod calendar;
pub mod codec;
pub mod contact;
pub mod error;
pub mod events;
pub mod notify;
pub mod policy;
pub mod sla;
pub mod status;
pub mod text;
pub mod text_module;
pub mod ticket;
pub mod types;

pub use error::DomainError;
pub use events::Event;
