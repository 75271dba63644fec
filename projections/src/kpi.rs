//! KPIs (`GET /v1/kpis`): exact counters and samples per org, UTC day and
//! reason category; weeks and months are unions of days. (Past ~600 lines
//! with its unit tests, which share the fold's helpers.)
//!
//! An org's day (`K | org | day`) holds a row per reason category: the
//! day's counts and its refunds per currency. The exact first-response and
//! resolution samples (whole seconds) of the day are stored beside it, one
//! value per commit that added some (`Q | org | day | commit position`):
//! percentiles are exact nearest-rank over the union of a bucket's samples,
//! no sketch. `backlog_end` is the running sum of opened minus closed over
//! every day before the bucket's end.
//!
//! Why the samples are not in the day's value: that value is rewritten by
//! every commit that touches the day, so with the samples in it a busy
//! day's commits grew with the day's volume (quadratic over the day); a
//! commit now writes only the samples it adds.
//!
//! SLA counts: a first-response clock counts in the day of its due time
//! once it is met or breached. The projection counts the outcomes the log
//! decides (an answer, or any event after a missed due time); the query
//! adds the running clocks that `now` is strictly past, read from the SLA
//! index, so the answer is what a brute-force pass over the log gives at
//! `now`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use docket_domain::types::{Currency, OrgId};

use crate::cache::WriteBack;
use crate::error::ProjectionError;
use crate::keys::{self, Key, KeyReader};
use crate::sla;
use crate::store;

/// Buckets one query may ask for.
pub const KPI_BUCKETS_MAX: usize = 4_000;

pub(crate) const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;
const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// The span of one KPI row (`bucket=`), in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KpiBucket {
    /// One UTC day, the default.
    #[default]
    Day,
    /// Weeks start on Monday.
    Week,
    /// A calendar month, from its 1st.
    Month,
}

/// How a KPI query's rows are split within an org and bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KpiGrouping {
    /// One row per org and bucket.
    #[default]
    ByOrg,
    /// One row per reason category (every category the org ever had).
    ByReason,
}

/// A `GET /v1/kpis` question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiQuery {
    /// One org, or every org with tickets (`None`, for a platform token).
    pub org: Option<OrgId>,
    /// Inclusive UTC dates; every bucket overlapping them gets a row.
    pub from: Date,
    /// The last day asked for (inclusive).
    pub to: Date,
    /// The span of a row.
    pub bucket: KpiBucket,
    /// Whether rows are split by reason category (`group_by=reason`).
    pub grouping: KpiGrouping,
}

/// One row of `GET /v1/kpis`; rows come sorted by org, bucket and reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiRow {
    /// The bucket's first UTC day (a week's Monday, a month's 1st).
    #[serde(with = "docket_domain::types::date")]
    pub bucket: Date,
    /// The org the row counts.
    pub org: OrgId,
    /// The reason category, when rows are split by reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Tickets opened in the bucket, follow-ups included.
    pub opened: u64,
    /// Tickets closed in the bucket.
    pub closed: u64,
    /// Tickets escalated in the bucket.
    pub escalated: u64,
    /// Follow-ups opened in the bucket, counted on the parent's org and reason.
    pub follow_ups: u64,
    /// Refunds issued in the bucket, per currency code.
    pub refunds: BTreeMap<String, RefundTotal>,
    /// Median wall-clock seconds from open to first response, over the first
    /// responses made in the bucket (nearest rank); `None` when there are none.
    pub first_response_p50_s: Option<i64>,
    /// The 90th percentile of the same, in seconds.
    pub first_response_p90_s: Option<i64>,
    /// Median wall-clock seconds from open to close, over the closes in the
    /// bucket (nearest rank); `None` when there are none.
    pub resolution_p50_s: Option<i64>,
    /// The 90th percentile of the same, in seconds.
    pub resolution_p90_s: Option<i64>,
    /// First-response clocks due in the bucket and met.
    pub sla_met: u64,
    /// First-response clocks due in the bucket and breached.
    pub sla_breached: u64,
    /// `sla_met / (sla_met + sla_breached)`; `None` when both are 0.
    pub sla_compliance: Option<f64>,
    /// Tickets opened and not closed at the end of the bucket.
    pub backlog_end: u64,
}

/// Refunds in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefundTotal {
    /// How many.
    pub count: u64,
    /// Their sum, in minor units of the currency.
    pub amount_minor: u64,
}

/// One org's, one category's counts of one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct DayRow {
    pub opened: u64,
    pub closed: u64,
    pub escalated: u64,
    pub follow_ups: u64,
    pub sla_met: u64,
    pub sla_breached: u64,
    /// Sorted by currency.
    pub refunds: Vec<(Currency, RefundTotal)>,
    /// Whole seconds from open to first response, of responses that day.
    pub first_response_s: Vec<i64>,
    /// Whole seconds from open to close, of closes that day.
    pub resolution_s: Vec<i64>,
}

/// One org's day: the unit of storage (one sled value per org and day,
/// its categories inside: a commit touches few of them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DayKey {
    pub org: OrgId,
    pub day: i32,
}

/// The categories of an org's day, sorted by category. Stored with empty
/// sample lists: the samples are in `DaySamples` values.
pub(crate) type DayRows = Vec<(String, DayRow)>;

/// The samples one commit added to an org's day, per category.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct SampleChunk {
    pub first_response_s: Vec<i64>,
    pub resolution_s: Vec<i64>,
}

pub(crate) type DaySamples = Vec<(String, SampleChunk)>;

/// The UTC day (days since 1970-01-01) of unix nanos.
pub(crate) fn day_of(at_unix_nanos: i64) -> i32 {
    let day = at_unix_nanos.div_euclid(NANOS_PER_DAY);
    i32::try_from(day).unwrap_or(if day < 0 { i32::MIN } else { i32::MAX })
}

/// Whole seconds from `from_unix_nanos` to `to_unix_nanos`, rounded down.
pub(crate) fn seconds_between(from_unix_nanos: i64, to_unix_nanos: i64) -> i64 {
    (i128::from(to_unix_nanos) - i128::from(from_unix_nanos))
        .div_euclid(i128::from(NANOS_PER_SECOND))
        .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

impl DayKey {
    fn key(&self) -> Key {
        Key::new(keys::KPI_DAY).str(self.org.as_str()).i32(self.day)
    }

    /// Where the samples added by the commit at `position` go.
    fn samples_key(&self, position: u64) -> Key {
        samples_prefix(self.org.as_str(), self.day).u64(position)
    }
}

fn samples_prefix(org: &str, day: i32) -> Key {
    Key::new(keys::KPI_SAMPLES).str(org).i32(day)
}

impl DayRow {
    pub(crate) fn add_refund(&mut self, currency: Currency, amount_minor: u64) {
        let index = match self.refunds.binary_search_by(|(c, _)| c.cmp(&currency)) {
            Ok(index) => index,
            Err(index) => {
                self.refunds
                    .insert(index, (currency, RefundTotal::default()));
                index
            }
        };
        let total = &mut self.refunds[index].1;
        total.count += 1;
        total.amount_minor = total.amount_minor.saturating_add(amount_minor);
    }
}

/// The days touched since the last commit, written back at it.
pub(crate) struct Days {
    cache: WriteBack<DayKey, DayRows>,
}

impl Days {
    pub(crate) fn new(capacity: usize) -> Days {
        Days {
            cache: WriteBack::new(capacity),
        }
    }

    /// The row of `org`'s `category` on the UTC day of `at_unix_nanos`.
    pub(crate) fn row(
        &mut self,
        tree: &sled::Tree,
        org: &OrgId,
        at_unix_nanos: i64,
        category: &str,
    ) -> Result<&mut DayRow, ProjectionError> {
        let key = DayKey {
            org: org.clone(),
            day: day_of(at_unix_nanos),
        };
        let rows = self
            .cache
            .get_mut(&key, || store::get(tree, "kpi day", &key.key()))?
            .get_or_insert_with(Vec::new);
        let index = match rows.binary_search_by(|(c, _)| c.as_str().cmp(category)) {
            Ok(index) => index,
            Err(index) => {
                rows.insert(index, (category.to_owned(), DayRow::default()));
                index
            }
        };
        Ok(&mut rows[index].1)
    }

    /// Writes the touched days' counts, and the samples added since the
    /// last commit as one value per day keyed by the commit's `position`.
    /// The cached rows keep counts only, as stored.
    pub(crate) fn write(
        &mut self,
        batch: &mut store::Writes,
        position: u64,
    ) -> Result<(), ProjectionError> {
        for key in self.cache.dirty_keys().to_vec() {
            let Some(Some(rows)) = self.cache.dirty_mut(&key) else {
                continue;
            };
            let mut added = DaySamples::new();
            for (category, row) in rows.iter_mut() {
                if row.first_response_s.is_empty() && row.resolution_s.is_empty() {
                    continue;
                }
                added.push((
                    category.clone(),
                    SampleChunk {
                        first_response_s: std::mem::take(&mut row.first_response_s),
                        resolution_s: std::mem::take(&mut row.resolution_s),
                    },
                ));
            }
            batch.insert(key.key(), store::encode_value("kpi day", rows)?);
            if !added.is_empty() {
                batch.insert(
                    key.samples_key(position),
                    store::encode("kpi samples", &added)?,
                );
            }
        }
        Ok(())
    }

    pub(crate) fn committed(&mut self) {
        self.cache.committed();
    }
}

/// `GET /v1/kpis` as of `now`.
pub(crate) fn rows(
    tree: &sled::Tree,
    query: &KpiQuery,
    now: OffsetDateTime,
) -> Result<Vec<KpiRow>, ProjectionError> {
    if query.from > query.to {
        return Err(ProjectionError::InvalidQuery("from is after to".to_owned()));
    }
    let buckets = buckets(query.from, query.to, query.bucket)?;
    let orgs = match &query.org {
        Some(org) => vec![org.clone()],
        None => store::orgs(tree)?,
    };
    let now_unix_nanos = keys::nanos(now);
    let mut out = Vec::new();
    for org in orgs {
        out.extend(org_rows(
            tree,
            &org,
            &buckets,
            query.grouping,
            now_unix_nanos,
        )?);
    }
    out.sort_by(|a, b| {
        (a.org.as_str(), a.bucket, &a.reason).cmp(&(b.org.as_str(), b.bucket, &b.reason))
    });
    Ok(out)
}

/// A bucket: its first day and the day after its last, as days since 1970.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    start: Date,
    first_day: i32,
    end_day: i32,
}

fn buckets(from: Date, to: Date, kind: KpiBucket) -> Result<Vec<Bucket>, ProjectionError> {
    let mut start = bucket_start(from, kind);
    let mut out = Vec::new();
    while start <= to {
        let next = next_bucket(start, kind)
            .ok_or_else(|| ProjectionError::InvalidQuery("dates out of range".to_owned()))?;
        out.push(Bucket {
            start,
            first_day: days_since_epoch(start),
            end_day: days_since_epoch(next),
        });
        if out.len() > KPI_BUCKETS_MAX {
            return Err(ProjectionError::InvalidQuery(format!(
                "more than {KPI_BUCKETS_MAX} buckets"
            )));
        }
        start = next;
    }
    Ok(out)
}

fn bucket_start(date: Date, kind: KpiBucket) -> Date {
    match kind {
        KpiBucket::Day => date,
        KpiBucket::Week => date
            .checked_sub(Duration::days(i64::from(
                date.weekday().number_days_from_monday(),
            )))
            .unwrap_or(date),
        KpiBucket::Month => date.replace_day(1).unwrap_or(date),
    }
}

fn next_bucket(start: Date, kind: KpiBucket) -> Option<Date> {
    match kind {
        KpiBucket::Day => start.next_day(),
        KpiBucket::Week => start.checked_add(Duration::days(7)),
        KpiBucket::Month => {
            let (year, month) = match start.month() {
                time::Month::December => (start.year().checked_add(1)?, time::Month::January),
                month => (start.year(), month.next()),
            };
            Date::from_calendar_date(year, month, 1).ok()
        }
    }
}

fn days_since_epoch(date: Date) -> i32 {
    date.to_julian_day() - time::macros::date!(1970 - 01 - 01).to_julian_day()
}

#[derive(Default)]
struct Acc {
    opened: u64,
    closed: u64,
    escalated: u64,
    follow_ups: u64,
    sla_met: u64,
    sla_breached: u64,
    refunds: BTreeMap<String, RefundTotal>,
    first_response_s: Vec<i64>,
    resolution_s: Vec<i64>,
}

impl Acc {
    fn add(&mut self, row: &DayRow) {
        self.opened += row.opened;
        self.closed += row.closed;
        self.escalated += row.escalated;
        self.follow_ups += row.follow_ups;
        self.sla_met += row.sla_met;
        self.sla_breached += row.sla_breached;
        for (currency, total) in &row.refunds {
            let sum = self
                .refunds
                .entry(currency.as_str().to_owned())
                .or_default();
            sum.count += total.count;
            sum.amount_minor = sum.amount_minor.saturating_add(total.amount_minor);
        }
        self.first_response_s
            .extend_from_slice(&row.first_response_s);
        self.resolution_s.extend_from_slice(&row.resolution_s);
    }
}

fn org_rows(
    tree: &sled::Tree,
    org: &OrgId,
    buckets: &[Bucket],
    grouping: KpiGrouping,
    now_unix_nanos: i64,
) -> Result<Vec<KpiRow>, ProjectionError> {
    let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
        return Ok(Vec::new());
    };
    // Every day row of the org up to the last bucket: the earlier ones for
    // the backlog, the others for the buckets.
    let prefix = Key::new(keys::KPI_DAY).str(org.as_str());
    let end = prefix.clone().i32(last.end_day);
    let mut days: Vec<(i32, String, DayRow)> = Vec::new();
    let mut categories = std::collections::BTreeSet::new();
    for entry in tree.range(prefix.as_bytes()..end.as_bytes()) {
        let (key, value) = entry?;
        let day = parse_day_key(&key)?;
        for (category, row) in store::decode::<DayRows>("kpi day", &value)? {
            categories.insert(category.clone());
            days.push((day, category, row));
        }
    }
    add_samples(tree, org, first.first_day, last.end_day, &mut days)?;
    if grouping == KpiGrouping::ByReason {
        // Categories first seen after the range still get (empty) rows.
        let later = Key::new(keys::KPI_DAY).str(org.as_str()).i32(last.end_day);
        let after = keys::prefix_end(prefix.as_bytes());
        let later_days = match after {
            Some(after) => tree.range(later.as_bytes().to_vec()..after),
            None => tree.range(later.as_bytes().to_vec()..),
        };
        for entry in later_days {
            let (_, value) = entry?;
            for (category, _) in store::decode::<DayRows>("kpi day", &value)? {
                categories.insert(category);
            }
        }
    }
    let groups: Vec<Option<String>> = if grouping == KpiGrouping::ByReason {
        categories.into_iter().map(Some).collect()
    } else {
        vec![None]
    };
    // Running first-response clocks past due at `now`, by due day.
    let lo_unix_nanos = i64::from(first.first_day) * NANOS_PER_DAY;
    let hi_unix_nanos = (i64::from(last.end_day) * NANOS_PER_DAY).min(now_unix_nanos);
    let running_breaches = sla::running_first_responses(tree, org, lo_unix_nanos, hi_unix_nanos)?;

    let mut out = Vec::with_capacity(buckets.len() * groups.len());
    for group in &groups {
        let matches = |category: &str| group.as_deref().is_none_or(|g| g == category);
        let mut backlog: i64 = days
            .iter()
            .filter(|(day, category, _)| *day < first.first_day && matches(category))
            .map(|(_, _, row)| row.opened as i64 - row.closed as i64)
            .sum();
        for bucket in buckets {
            let mut acc = Acc::default();
            // `days` is in key order: by day.
            let start = days.partition_point(|(day, _, _)| *day < bucket.first_day);
            let end = days.partition_point(|(day, _, _)| *day < bucket.end_day);
            for (_, category, row) in &days[start..end] {
                if matches(category) {
                    acc.add(row);
                }
            }
            acc.sla_breached += running_breaches
                .iter()
                .filter(|(due_at_unix_nanos, category)| {
                    let day = day_of(*due_at_unix_nanos);
                    day >= bucket.first_day && day < bucket.end_day && matches(category)
                })
                .count() as u64;
            backlog += acc.opened as i64 - acc.closed as i64;
            out.push(finish(bucket.start, org, group.clone(), acc, backlog));
        }
    }
    Ok(out)
}

/// Puts the stored samples of the days `first_day..end_day` into their
/// rows of `days` (in key order, counts only as stored).
fn add_samples(
    tree: &sled::Tree,
    org: &OrgId,
    first_day: i32,
    end_day: i32,
    days: &mut [(i32, String, DayRow)],
) -> Result<(), ProjectionError> {
    let start = samples_prefix(org.as_str(), first_day);
    let end = samples_prefix(org.as_str(), end_day);
    for entry in tree.range(start.as_bytes()..end.as_bytes()) {
        let (key, value) = entry?;
        let day = parse_day_key(&key)?;
        for (category, chunk) in store::decode::<DaySamples>("kpi samples", &value)? {
            let found = days.binary_search_by(|(d, c, _)| {
                d.cmp(&day).then_with(|| c.as_str().cmp(category.as_str()))
            });
            let Ok(index) = found else {
                // Written in the same batch as the day's counts, which
                // have a row for every category with samples.
                return Err(ProjectionError::corrupt(
                    "kpi samples",
                    "samples of a category the day does not count",
                ));
            };
            let row = &mut days[index].2;
            row.first_response_s.extend(chunk.first_response_s);
            row.resolution_s.extend(chunk.resolution_s);
        }
    }
    Ok(())
}

fn parse_day_key(key: &[u8]) -> Result<i32, ProjectionError> {
    let mut reader = KeyReader::new(&key[1..]);
    let _org = reader.str();
    reader
        .i32()
        .ok_or_else(|| ProjectionError::corrupt("kpi day key", "unparseable"))
}

fn finish(bucket: Date, org: &OrgId, reason: Option<String>, mut acc: Acc, backlog: i64) -> KpiRow {
    acc.first_response_s.sort_unstable();
    acc.resolution_s.sort_unstable();
    let decided = acc.sla_met + acc.sla_breached;
    KpiRow {
        bucket,
        org: org.clone(),
        reason,
        opened: acc.opened,
        closed: acc.closed,
        escalated: acc.escalated,
        follow_ups: acc.follow_ups,
        refunds: acc.refunds,
        first_response_p50_s: nearest_rank(&acc.first_response_s, 50),
        first_response_p90_s: nearest_rank(&acc.first_response_s, 90),
        resolution_p50_s: nearest_rank(&acc.resolution_s, 50),
        resolution_p90_s: nearest_rank(&acc.resolution_s, 90),
        sla_met: acc.sla_met,
        sla_breached: acc.sla_breached,
        sla_compliance: (decided > 0).then(|| acc.sla_met as f64 / decided as f64),
        backlog_end: u64::try_from(backlog).unwrap_or(0),
    }
}

/// The nearest-rank percentile of sorted samples: the value at rank
/// `ceil(p/100 × n)` (1-based).
fn nearest_rank(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 50), Some(5));
        assert_eq!(nearest_rank(&ten, 90), Some(9));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(nearest_rank(&eleven, 50), Some(6));
        assert_eq!(nearest_rank(&eleven, 90), Some(10));
    }

    #[test]
    fn buckets_cover_the_range() {
        // 2026-03-04 is a Wednesday.
        let weeks = buckets(
            date!(2026 - 03 - 04),
            date!(2026 - 03 - 16),
            KpiBucket::Week,
        )
        .expect("valid");
        let starts: Vec<Date> = weeks.iter().map(|b| b.start).collect();
        assert_eq!(
            starts,
            vec![
                date!(2026 - 03 - 02),
                date!(2026 - 03 - 09),
                date!(2026 - 03 - 16)
            ]
        );
        let months = buckets(
            date!(2025 - 12 - 31),
            date!(2026 - 02 - 01),
            KpiBucket::Month,
        )
        .expect("valid");
        let starts: Vec<Date> = months.iter().map(|b| b.start).collect();
        assert_eq!(
            starts,
            vec![
                date!(2025 - 12 - 01),
                date!(2026 - 01 - 01),
                date!(2026 - 02 - 01)
            ]
        );
        assert_eq!(months[0].end_day - months[0].first_day, 31);
        let days =
            buckets(date!(2026 - 01 - 01), date!(2026 - 01 - 01), KpiBucket::Day).expect("valid");
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].first_day, days_since_epoch(date!(2026 - 01 - 01)));
        assert!(buckets(date!(2000 - 01 - 01), date!(2030 - 01 - 01), KpiBucket::Day).is_err());
    }

    #[test]
    fn days_and_seconds_round_down() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(-1), -1);
        assert_eq!(day_of(NANOS_PER_DAY), 1);
        assert_eq!(seconds_between(0, 1_999_999_999), 1);
        assert_eq!(seconds_between(0, -1), -1);
    }
}
