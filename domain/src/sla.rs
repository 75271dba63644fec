//! SLA clocks: a pure fold over one ticket's events.
//!
//! Clocks (contract, "Org policy and SLA"):
//! - `first_response`: from open to the first public comment by an agent or
//!   support;
//! - `next_response`: from a customer's public comment on a `waiting` ticket
//!   to the next public agent/support comment;
//! - `resolution` (when the policy sets `resolution_hours`): from open to close.
//!
//! Budgets are business time on the calendar of the policy in force when the
//! clock started; a clock keeps both for life. No clock runs while the ticket
//! is `waiting`: a clock is paused and its due time moves out by the
//! business time spent waiting. A running clock is breached once the time is
//! strictly past its due instant (an answer at exactly the due instant meets
//! it); breach is final. [`SlaClocks::apply`] first records the breaches that
//! happened before the event, so a breach is decided right even when no
//! event happens at the due time; [`SlaClocks::evaluate`] does the same for
//! "now" without changing the state.
//!
//! Choices where the contract is silent:
//! - A ticket has at most one unanswered `next_response` clock: a customer
//!   comment on a `waiting` ticket resumes a paused one (the oldest
//!   unanswered question keeps its clock) and starts a new one only when
//!   none is running, paused, or breached and unanswered.
//! - A clock answered while paused (support answers an escalated ticket) is
//!   met; its due time is where it stood at that answer, i.e. the answer
//!   time plus the budget left.
//! - Closing a ticket ends a breached, unanswered clock (`ended_at`): a
//!   closed ticket has no pending clock.
//! - A clock paused exactly at its due instant has no budget left: once
//!   resumed, it is due at the resume instant.
//! - Only a customer's public comment counts as the customer's; a public
//!   comment by any other role that does not answer for the org (which the
//!   deciders never record) changes nothing.
//! - Only the latest [`NEXT_RESPONSE_CLOCKS_MAX`] `next_response` clocks are
//!   kept; older finished ones are dropped (a pending one never is).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::calendar::{nanos_to_seconds_floor, BusinessCalendar};
use crate::events::Event;
use crate::policy::OrgPolicy;
use crate::status;
use crate::types::{instant, Status, Visibility};

/// At most this many `next_response` clocks are kept per ticket (a long
/// back-and-forth starts one per customer reply); the oldest finished ones go.
pub const NEXT_RESPONSE_CLOCKS_MAX: usize = 32;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// Which of a ticket's SLA clocks this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// `first_response`: from open to the first public answer for the org.
    FirstResponse,
    /// `next_response`: from a customer's public comment on a waiting ticket
    /// to the next public answer.
    NextResponse,
    /// `resolution`: from open to close, when the policy sets `resolution_hours`.
    Resolution,
}

impl ClockKind {
    /// The contract's name of the clock.
    pub fn as_str(&self) -> &'static str {
        match self {
            ClockKind::FirstResponse => "first_response",
            ClockKind::NextResponse => "next_response",
            ClockKind::Resolution => "resolution",
        }
    }

    fn is_response(&self) -> bool {
        matches!(self, ClockKind::FirstResponse | ClockKind::NextResponse)
    }
}

/// One SLA clock, with the terms it started under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// Which clock.
    pub kind: ClockKind,
    /// When it started: the time of the event that started it.
    #[serde(with = "instant")]
    pub started_at: OffsetDateTime,
    /// The target, in business seconds, of the policy in force at the start.
    pub budget_seconds: i64,
    /// The calendar of the policy in force at the start.
    pub calendar: BusinessCalendar,
    /// Where it stands now.
    pub state: ClockState,
}

/// Where a clock stands. `used_nanos` is business time already spent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Counting since `since`, after `used_nanos` spent before.
    Running {
        /// When it started or last resumed.
        #[serde(with = "instant")]
        since: OffsetDateTime,
        /// Business time spent before `since`, in nanoseconds.
        used_nanos: i128,
    },
    /// The ticket is waiting; no due time until resumed.
    Paused {
        /// Business time spent before the pause, in nanoseconds.
        used_nanos: i128,
    },
    /// Answered (or, for `resolution`, closed) in time. `due_at` is the due
    /// time at that moment; `None` only for a calendar without working time.
    Met {
        /// When it was answered (or closed).
        #[serde(with = "instant")]
        at: OffsetDateTime,
        /// The due time it had then.
        #[serde(with = "crate::types::instant::option")]
        due_at: Option<OffsetDateTime>,
    },
    /// Passed `due_at` unanswered. Final. `ended_at` is when it was answered
    /// (or the ticket closed); `None` while still pending.
    Breached {
        /// The due time it passed.
        #[serde(with = "instant")]
        due_at: OffsetDateTime,
        /// When it was answered late (or the ticket closed).
        #[serde(with = "crate::types::instant::option")]
        ended_at: Option<OffsetDateTime>,
    },
    /// The ticket closed before a response clock was answered or breached.
    Cancelled {
        /// When the ticket closed.
        #[serde(with = "instant")]
        at: OffsetDateTime,
        /// Business time spent by then, in nanoseconds.
        used_nanos: i128,
    },
}

/// A clock's state as of some instant, for views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStatus {
    /// Counting down.
    Running,
    /// Stopped while the ticket waits for the customer.
    Paused,
    /// Answered (or closed, for `resolution`) in time.
    Met,
    /// Passed its due time unanswered.
    Breached,
    /// Stopped by a close before it was answered.
    Cancelled,
}

/// A clock as of an instant: what the SLA endpoint and inboxes show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockView {
    /// Which clock.
    pub kind: ClockKind,
    /// When it started.
    #[serde(with = "instant")]
    pub started_at: OffsetDateTime,
    /// Where it stands.
    pub status: ClockStatus,
    /// Running clocks, and breached ones still unanswered; `None` otherwise.
    #[serde(with = "crate::types::instant::option")]
    pub due_at: Option<OffsetDateTime>,
    /// Whether it passed its due time unanswered, answered since or not.
    pub breached: bool,
    /// Business seconds left (rounded down): negative once breached and
    /// business time has passed since the due time; for a met or cancelled
    /// clock, what was left when it stopped.
    pub business_seconds_left: i64,
}

/// A finished clock, as KPIs count it: in the bucket of its due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockOutcome {
    /// Answered in time.
    Met {
        /// The due time it had when answered.
        #[serde(with = "instant")]
        due_at: OffsetDateTime,
    },
    /// Passed its due time unanswered.
    Breached {
        /// The due time it passed.
        #[serde(with = "instant")]
        due_at: OffsetDateTime,
    },
}

/// The SLA clocks of one ticket, and the status they follow.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SlaClocks {
    /// `None` until the ticket is opened.
    status: Option<Status>,
    /// In start order.
    clocks: Vec<Clock>,
}

impl ClockOutcome {
    /// The due time that puts the outcome in its KPI bucket.
    pub fn due_at(&self) -> OffsetDateTime {
        match self {
            ClockOutcome::Met { due_at } | ClockOutcome::Breached { due_at } => *due_at,
        }
    }

    /// Whether the clock was met.
    pub fn is_met(&self) -> bool {
        matches!(self, ClockOutcome::Met { .. })
    }
}

impl SlaClocks {
    /// A ticket before its first event: no status, no clocks.
    pub fn new() -> SlaClocks {
        SlaClocks::default()
    }

    /// The ticket's status as these clocks see it (`None` before it opened).
    pub fn status(&self) -> Option<Status> {
        self.status
    }

    /// Every clock, in start order.
    pub fn clocks(&self) -> &[Clock] {
        &self.clocks
    }

    /// Folds one of the ticket's events, recorded at `at` while
    /// `policy_in_force` was the org's policy. Total: never fails; events
    /// that make no sense in the current status change nothing.
    pub fn apply(&mut self, event: &Event, at: OffsetDateTime, policy_in_force: &OrgPolicy) {
        self.advance(at);
        let Some(status) = self.status else {
            if let Event::TicketOpened(_) = event {
                self.open(at, policy_in_force);
            }
            return;
        };
        if status == Status::Closed {
            return;
        }
        // The clocks act on the event; the status comes from the one
        // status machine (`status::after`).
        match event {
            Event::CommentAdded(comment) if comment.visibility == Visibility::Public => {
                if comment.author.role.answers_for_org() {
                    self.answer(at);
                    self.pause(at);
                } else if status == Status::Waiting {
                    self.resume(at);
                    self.ask_again(at, policy_in_force);
                }
            }
            Event::Escalated(_) => self.pause(at),
            Event::TicketClosed(_) => self.close(at),
            Event::TicketOpened(_)
            | Event::CommentAdded(_)
            | Event::RefundIssued(_)
            | Event::FollowUpOpened(_)
            | Event::PolicySet(_)
            | Event::TextModuleSaved(_)
            | Event::TextModuleRemoved(_)
            | Event::AttachmentAdded(_) => {}
        }
        self.status = Some(status::after(status, event));
    }

    /// Records the breaches that have happened by `now` (running clocks
    /// strictly past their due time). `apply` does this before each event.
    pub fn advance(&mut self, now: OffsetDateTime) {
        for clock in &mut self.clocks {
            if let Some(due_at) = clock.breach_by(now) {
                clock.state = ClockState::Breached {
                    due_at,
                    ended_at: None,
                };
            }
        }
    }

    /// Every clock as of `now`, in start order.
    pub fn evaluate(&self, now: OffsetDateTime) -> Vec<ClockView> {
        self.clocks.iter().map(|clock| clock.view(now)).collect()
    }

    /// The earliest due time of the pending clocks (running, or breached and
    /// unanswered): a ticket summary's `due_at` and the inbox's `sort=due`
    /// key. Needs no "now": a running clock past due is pending with the
    /// same due time as once it is recorded as breached.
    pub fn earliest_pending_due(&self) -> Option<OffsetDateTime> {
        self.clocks.iter().filter_map(Clock::due_at).min()
    }

    /// The KPI outcome of the ticket's first-response clock as of `now`
    /// (see [`Clock::outcome`]).
    pub fn first_response_outcome(&self, now: OffsetDateTime) -> Option<ClockOutcome> {
        self.clocks
            .iter()
            .find(|clock| clock.kind == ClockKind::FirstResponse)
            .and_then(|clock| clock.outcome(now))
    }

    fn open(&mut self, at: OffsetDateTime, policy: &OrgPolicy) {
        self.status = Some(Status::Open);
        self.start(
            ClockKind::FirstResponse,
            policy.first_response_hours,
            at,
            policy,
        );
        if let Some(hours) = policy.resolution_hours {
            self.start(ClockKind::Resolution, hours, at, policy);
        }
    }

    fn start(&mut self, kind: ClockKind, hours: u32, at: OffsetDateTime, policy: &OrgPolicy) {
        self.clocks.push(Clock {
            kind,
            started_at: at,
            budget_seconds: i64::from(hours) * 3600,
            calendar: policy.calendar.clone(),
            state: ClockState::Running {
                since: at,
                used_nanos: 0,
            },
        });
    }

    /// A public agent/support comment answers every pending response clock.
    fn answer(&mut self, at: OffsetDateTime) {
        for clock in self
            .clocks
            .iter_mut()
            .filter(|clock| clock.kind.is_response())
        {
            match clock.counting_used_nanos(at) {
                Some(used_nanos) => {
                    clock.state = ClockState::Met {
                        at,
                        due_at: clock.due_counting_from(at, used_nanos),
                    }
                }
                None => clock.end_breach(at),
            }
        }
    }

    /// A customer's public comment on a waiting ticket: a `next_response`
    /// clock, unless an earlier question is still unanswered.
    fn ask_again(&mut self, at: OffsetDateTime, policy: &OrgPolicy) {
        let unanswered = self
            .clocks
            .iter()
            .any(|clock| clock.kind == ClockKind::NextResponse && clock.is_unanswered());
        if unanswered {
            return;
        }
        self.start(
            ClockKind::NextResponse,
            policy.next_response_hours,
            at,
            policy,
        );
        self.forget_old_next_responses();
    }

    fn pause(&mut self, at: OffsetDateTime) {
        for clock in &mut self.clocks {
            if let ClockState::Running { since, used_nanos } = clock.state {
                let used_nanos = used_nanos + clock.calendar.business_nanos_between(since, at);
                clock.state = ClockState::Paused { used_nanos };
            }
        }
    }

    fn resume(&mut self, at: OffsetDateTime) {
        for clock in &mut self.clocks {
            if let ClockState::Paused { used_nanos } = clock.state {
                clock.state = ClockState::Running {
                    since: at,
                    used_nanos,
                };
            }
        }
    }

    /// Closing meets the resolution clock, cancels the response clocks still
    /// counting, and ends the breached ones.
    fn close(&mut self, at: OffsetDateTime) {
        for clock in &mut self.clocks {
            match clock.counting_used_nanos(at) {
                Some(used_nanos) if clock.kind.is_response() => {
                    clock.state = ClockState::Cancelled { at, used_nanos }
                }
                Some(used_nanos) => {
                    clock.state = ClockState::Met {
                        at,
                        due_at: clock.due_counting_from(at, used_nanos),
                    }
                }
                None => clock.end_breach(at),
            }
        }
    }

    fn forget_old_next_responses(&mut self) {
        let count = self
            .clocks
            .iter()
            .filter(|clock| clock.kind == ClockKind::NextResponse)
            .count();
        let mut excess = count.saturating_sub(NEXT_RESPONSE_CLOCKS_MAX);
        self.clocks.retain(|clock| {
            let forget =
                excess > 0 && clock.kind == ClockKind::NextResponse && !clock.is_unanswered();
            if forget {
                excess -= 1;
            }
            !forget
        });
    }
}

impl Clock {
    /// When a running clock is due, and when a breached clock that is still
    /// unanswered was due; `None` otherwise (paused clocks have no due time).
    pub fn due_at(&self) -> Option<OffsetDateTime> {
        match self.state {
            ClockState::Running { since, used_nanos } => self
                .calendar
                .add_business_nanos(since, self.left_nanos(used_nanos)),
            ClockState::Breached {
                due_at,
                ended_at: None,
            } => Some(due_at),
            _ => None,
        }
    }

    /// The KPI notion of a finished clock as of `now`: met with the due time
    /// it had when met, or breached with the due time it passed, including
    /// a running clock strictly past its due time. `None` for running,
    /// paused and cancelled clocks, which count nowhere.
    pub fn outcome(&self, now: OffsetDateTime) -> Option<ClockOutcome> {
        match self.state {
            ClockState::Met { due_at, .. } => due_at.map(|due_at| ClockOutcome::Met { due_at }),
            ClockState::Breached { due_at, .. } => Some(ClockOutcome::Breached { due_at }),
            ClockState::Running { .. } => self
                .breach_by(now)
                .map(|due_at| ClockOutcome::Breached { due_at }),
            ClockState::Paused { .. } | ClockState::Cancelled { .. } => None,
        }
    }

    /// The clock as of `now` (at or after the last event applied).
    pub fn view(&self, now: OffsetDateTime) -> ClockView {
        let (status, due_at, left_nanos) = match self.state {
            ClockState::Running { since, used_nanos } => {
                let due_at = self.due_at();
                let breached = due_at.is_some_and(|due_at| now > due_at);
                let status = if breached {
                    ClockStatus::Breached
                } else {
                    ClockStatus::Running
                };
                let spent = self.calendar.business_nanos_between(since, now);
                (status, due_at, self.left_nanos(used_nanos) - spent)
            }
            ClockState::Paused { used_nanos } => {
                (ClockStatus::Paused, None, self.left_nanos(used_nanos))
            }
            ClockState::Met { at, due_at } => {
                let left =
                    due_at.map_or(0, |due_at| self.calendar.business_nanos_between(at, due_at));
                (ClockStatus::Met, None, left)
            }
            ClockState::Breached { due_at, ended_at } => {
                let over = self
                    .calendar
                    .business_nanos_between(due_at, ended_at.unwrap_or(now));
                let pending_due = ended_at.is_none().then_some(due_at);
                (ClockStatus::Breached, pending_due, -over)
            }
            ClockState::Cancelled { used_nanos, .. } => {
                (ClockStatus::Cancelled, None, self.left_nanos(used_nanos))
            }
        };
        ClockView {
            kind: self.kind,
            started_at: self.started_at,
            status,
            due_at,
            breached: status == ClockStatus::Breached,
            business_seconds_left: nanos_to_seconds_floor(left_nanos),
        }
    }

    /// Still waiting for its answer: running, paused, or breached and not
    /// yet answered.
    fn is_unanswered(&self) -> bool {
        matches!(
            self.state,
            ClockState::Running { .. }
                | ClockState::Paused { .. }
                | ClockState::Breached { ended_at: None, .. }
        )
    }

    /// The due time a running clock has passed by `now` (strictly after it).
    fn breach_by(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self.state {
            ClockState::Running { since, used_nanos } => {
                // Business time never runs faster than wall time: before
                // `since` plus what is left, nothing can be due, and the
                // calendar walk (most of folding an event) is not needed.
                let left = self.left_nanos(used_nanos);
                if left > 0 && (now - since).whole_nanoseconds() < left {
                    return None;
                }
                self.due_at().filter(|due_at| now > *due_at)
            }
            _ => None,
        }
    }

    /// Business time spent by `at`, for a clock still counting (running or
    /// paused); `None` once it has finished.
    fn counting_used_nanos(&self, at: OffsetDateTime) -> Option<i128> {
        match self.state {
            ClockState::Running { since, used_nanos } => {
                Some(used_nanos + self.calendar.business_nanos_between(since, at))
            }
            ClockState::Paused { used_nanos } => Some(used_nanos),
            ClockState::Met { .. } | ClockState::Breached { .. } | ClockState::Cancelled { .. } => {
                None
            }
        }
    }

    /// The due time of a clock that counts from `at` on, having spent
    /// `used_nanos`. For a running clock not yet past due this is its due
    /// time; for a paused one, the due time moved out by the wait.
    fn due_counting_from(&self, at: OffsetDateTime, used_nanos: i128) -> Option<OffsetDateTime> {
        self.calendar
            .add_business_nanos(at, self.left_nanos(used_nanos))
    }

    /// An answer or a close ends a breach that was still pending.
    fn end_breach(&mut self, at: OffsetDateTime) {
        if let ClockState::Breached {
            ended_at: ended_at @ None,
            ..
        } = &mut self.state
        {
            *ended_at = Some(at);
        }
    }

    fn budget_nanos(&self) -> i128 {
        i128::from(self.budget_seconds) * NANOS_PER_SECOND
    }

    fn left_nanos(&self, used_nanos: i128) -> i128 {
        self.budget_nanos() - used_nanos
    }
}

#[cfg(test)]
mod tests;
