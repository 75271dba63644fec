//! Docket's domain: the ticket and org-policy deciders, the business calendar
//! and the SLA clocks; every rule of the contract lives here and nowhere else.
//!
//! Pure by design: no I/O, no clock, no randomness, no async. Time, the actor,
//! the policy in force and fresh ids are passed in; `decide` returns events or
//! a `DomainError`, `apply` folds an event into state and never fails.

pub mod calendar;
pub mod events;
pub mod policy;
pub mod types;

pub use events::Event;
