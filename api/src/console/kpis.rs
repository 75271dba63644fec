//! KPI charts for analysts, agents (their org) and admins: the rows of
//! `GET /v1/kpis` over day, week or month buckets, drawn on the server as
//! SVG (charts-rs), listed as a table, and downloadable as CSV.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use charts_rs::{BarChart, LineChart, Series};
use docket_domain::access::Read;
use docket_projections::{KpiBucket, KpiGrouping, KpiQuery, KpiRow};
use serde::Deserialize;
use time::{Date, Duration};

use super::html;
use super::pages::failure;
use super::session::Session;
use super::view::KpiTemplate;
use crate::problem::ApiError;
use crate::{parse, queries, AppState};

/// Days shown when the page is opened without a period.
const DEFAULT_DAYS: i64 = 30;
/// The charts' size in SVG units (the page scales them).
const CHART_WIDTH: f32 = 720.0;
const CHART_HEIGHT: f32 = 300.0;

/// The KPI page's query.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct KpiParams {
    org: Option<String>,
    from: Option<String>,
    to: Option<String>,
    bucket: Option<String>,
}

/// A KPI question as the console asks it, with the fields as typed.
struct Asked {
    query: KpiQuery,
    from: String,
    to: String,
    bucket: &'static str,
    org: String,
}

fn non_empty(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

fn asked(state: &AppState, session: &Session, params: &KpiParams) -> Result<Asked, ApiError> {
    let today = state.commands.clock().now().date();
    let to = queries::query_date("to", non_empty(&params.to))?.unwrap_or(today);
    let from = queries::query_date("from", non_empty(&params.from))?
        .unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
    let (bucket, bucket_name) = match non_empty(&params.bucket) {
        None | Some("day") => (KpiBucket::Day, "day"),
        Some("week") => (KpiBucket::Week, "week"),
        Some("month") => (KpiBucket::Month, "month"),
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_query",
                "bucket must be day, week or month",
            ))
        }
    };
    let org = parse::optional_org(non_empty(&params.org))?;
    let org = docket_domain::access::org_filter(&session.actor, org)?;
    Ok(Asked {
        org: org.as_ref().map(|o| o.to_string()).unwrap_or_default(),
        query: KpiQuery {
            org,
            from,
            to,
            bucket,
            grouping: KpiGrouping::ByOrg,
        },
        from: from.to_string(),
        to: to.to_string(),
        bucket: bucket_name,
    })
}

async fn rows(
    state: &AppState,
    session: &Session,
    params: &KpiParams,
) -> Result<(Asked, Vec<KpiRow>), ApiError> {
    Read::Kpis.permit(&session.actor)?;
    let asked = asked(state, session, params)?;
    super::pages::catch_up(state).await;
    let rows = state
        .reads
        .kpis(&session.actor, asked.query.clone(), None)
        .await?;
    Ok((asked, rows))
}

/// One bucket, every org's rows summed (percentiles only for one org).
#[derive(Debug, Default, Clone)]
struct Totals {
    opened: u64,
    closed: u64,
    backlog_end: u64,
    sla_met: u64,
    sla_breached: u64,
    first_response_p50_s: Option<i64>,
    first_response_p90_s: Option<i64>,
    orgs: usize,
}

fn by_bucket(rows: &[KpiRow]) -> BTreeMap<Date, Totals> {
    let mut buckets: BTreeMap<Date, Totals> = BTreeMap::new();
    for row in rows {
        let totals = buckets.entry(row.bucket).or_default();
        totals.opened += row.opened;
        totals.closed += row.closed;
        totals.backlog_end += row.backlog_end;
        totals.sla_met += row.sla_met;
        totals.sla_breached += row.sla_breached;
        totals.first_response_p50_s = row.first_response_p50_s;
        totals.first_response_p90_s = row.first_response_p90_s;
        totals.orgs += 1;
    }
    buckets
}

/// The four charts' names, in page order.
pub const CHARTS: [(&str, &str); 4] = [
    ("volume", "Opened and closed tickets"),
    ("first-response", "First response time, p50 and p90 (hours)"),
    ("sla", "SLA compliance (%)"),
    ("backlog", "Open tickets at the end of each bucket"),
];

fn hours(seconds: Option<i64>) -> f32 {
    seconds.map_or(0.0, |s| s as f32 / 3600.0)
}

fn bars(series: Vec<Series>, labels: Vec<String>) -> Result<String, charts_rs::CanvasError> {
    let mut chart = BarChart::new(series, labels);
    chart.width = CHART_WIDTH;
    chart.height = CHART_HEIGHT;
    chart.svg()
}

fn lines(series: Vec<Series>, labels: Vec<String>) -> Result<String, charts_rs::CanvasError> {
    let mut chart = LineChart::new(series, labels);
    chart.width = CHART_WIDTH;
    chart.height = CHART_HEIGHT;
    chart.svg()
}

/// The SVG of chart `name` over `buckets`.
fn chart(name: &str, buckets: &BTreeMap<Date, Totals>) -> Option<String> {
    let labels: Vec<String> = buckets.keys().map(|date| date.to_string()).collect();
    let series = |title: &str, values: Vec<f32>| -> Series { (title, values).into() };
    let svg = match name {
        "volume" => bars(
            vec![
                series(
                    "opened",
                    buckets.values().map(|t| t.opened as f32).collect(),
                ),
                series(
                    "closed",
                    buckets.values().map(|t| t.closed as f32).collect(),
                ),
            ],
            labels,
        ),
        "first-response" => {
            let single_org = buckets.values().all(|t| t.orgs <= 1);
            let (p50, p90) = if single_org {
                (
                    buckets
                        .values()
                        .map(|t| hours(t.first_response_p50_s))
                        .collect(),
                    buckets
                        .values()
                        .map(|t| hours(t.first_response_p90_s))
                        .collect(),
                )
            } else {
                // Percentiles of several orgs do not add up: pick an org.
                (vec![0.0; labels.len()], vec![0.0; labels.len()])
            };
            lines(vec![series("p50", p50), series("p90", p90)], labels)
        }
        "sla" => {
            let compliance = buckets
                .values()
                .map(|t| {
                    let total = t.sla_met + t.sla_breached;
                    if total == 0 {
                        100.0
                    } else {
                        t.sla_met as f32 * 100.0 / total as f32
                    }
                })
                .collect();
            lines(vec![series("compliance %", compliance)], labels)
        }
        "backlog" => bars(
            vec![series(
                "backlog",
                buckets.values().map(|t| t.backlog_end as f32).collect(),
            )],
            labels,
        ),
        _ => return None,
    };
    match svg {
        Ok(svg) => Some(svg),
        Err(error) => {
            tracing::error!(%error, chart = name, "a KPI chart could not be drawn");
            None
        }
    }
}

/// One row of the table (and of the CSV).
pub struct TableRow {
    /// The bucket's first day.
    pub bucket: String,
    /// The org.
    pub org: String,
    /// Opened in the bucket.
    pub opened: u64,
    /// Closed in the bucket.
    pub closed: u64,
    /// Escalated in the bucket.
    pub escalated: u64,
    /// First response p50, `1.5 h`, or `-`.
    pub first_response_p50: String,
    /// First response p90.
    pub first_response_p90: String,
    /// SLA compliance, `97.5%`, or `-`.
    pub sla_compliance: String,
    /// Open at the bucket's end.
    pub backlog_end: u64,
}

fn shown_hours(seconds: Option<i64>) -> String {
    seconds.map_or_else(|| "-".to_owned(), |s| format!("{:.1} h", s as f64 / 3600.0))
}

/// `GET /console/kpis`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    params: Result<Query<KpiParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let chrome = session.chrome();
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let (asked, rows) = match rows(&state, &session, &params).await {
        Ok(found) => found,
        Err(error)
            if error.status == StatusCode::FORBIDDEN || error.status == StatusCode::NOT_FOUND =>
        {
            return failure(&chrome, error)
        }
        Err(error) => {
            let notice = super::actions::sentence(&error);
            let page = KpiTemplate {
                chrome: &chrome,
                org: params.org.clone().unwrap_or_default(),
                from: params.from.clone().unwrap_or_default(),
                to: params.to.clone().unwrap_or_default(),
                bucket: "day",
                may_pick_org: matches!(session.actor.org, docket_domain::types::OrgScope::Platform),
                notice: Some(notice),
                query: String::new(),
                charts: Vec::new(),
                rows: Vec::new(),
            };
            return html(
                StatusCode::UNPROCESSABLE_ENTITY,
                askama::Template::render(&page),
            );
        }
    };
    let query = serde_urlencoded::to_string([
        ("org", asked.org.as_str()),
        ("from", asked.from.as_str()),
        ("to", asked.to.as_str()),
        ("bucket", asked.bucket),
    ])
    .unwrap_or_default();
    let several_orgs = rows
        .iter()
        .map(|row| &row.org)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    let table = rows
        .iter()
        .map(|row| TableRow {
            bucket: row.bucket.to_string(),
            org: row.org.to_string(),
            opened: row.opened,
            closed: row.closed,
            escalated: row.escalated,
            first_response_p50: shown_hours(row.first_response_p50_s),
            first_response_p90: shown_hours(row.first_response_p90_s),
            sla_compliance: row
                .sla_compliance
                .map_or_else(|| "-".to_owned(), |c| format!("{:.1}%", c * 100.0)),
            backlog_end: row.backlog_end,
        })
        .collect();
    let page = KpiTemplate {
        chrome: &chrome,
        org: asked.org.clone(),
        from: asked.from.clone(),
        to: asked.to.clone(),
        bucket: asked.bucket,
        may_pick_org: matches!(session.actor.org, docket_domain::types::OrgScope::Platform),
        notice: several_orgs.then(|| {
            "Several orgs: the charts add their counts; response times are charted for one org only (pick one).".to_owned()
        }),
        query,
        charts: CHARTS.to_vec(),
        rows: table,
    };
    html(StatusCode::OK, askama::Template::render(&page))
}

/// `GET /console/kpis/charts/{name}.svg`: one chart, for an `<img>`.
pub async fn chart_svg(
    State(state): State<AppState>,
    session: Session,
    Path(file): Path<String>,
    params: Result<Query<KpiParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let chrome = session.chrome();
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let Some(name) = file.strip_suffix(".svg") else {
        return super::pages::not_found(&chrome);
    };
    let (_, rows) = match rows(&state, &session, &params).await {
        Ok(found) => found,
        Err(error) => return failure(&chrome, error),
    };
    match chart(name, &by_bucket(&rows)) {
        Some(svg) => {
            let mut response = (
                [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
                svg,
            )
                .into_response();
            // Shown as an image: nothing in it runs, and its styles are
            // its own attributes.
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            );
            response
        }
        None => super::pages::not_found(&chrome),
    }
}

/// `GET /console/kpis.csv`: the rows as CSV, for a spreadsheet.
pub async fn csv(
    State(state): State<AppState>,
    session: Session,
    params: Result<Query<KpiParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let chrome = session.chrome();
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let (asked, rows) = match rows(&state, &session, &params).await {
        Ok(found) => found,
        Err(error) => return failure(&chrome, error),
    };
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let header = [
        "bucket",
        "org",
        "opened",
        "closed",
        "escalated",
        "follow_ups",
        "first_response_p50_s",
        "first_response_p90_s",
        "resolution_p50_s",
        "resolution_p90_s",
        "sla_met",
        "sla_breached",
        "sla_compliance",
        "backlog_end",
    ];
    let optional = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
    let mut written = writer.write_record(header);
    for row in &rows {
        if written.is_err() {
            break;
        }
        written = writer.write_record([
            row.bucket.to_string(),
            row.org.to_string(),
            row.opened.to_string(),
            row.closed.to_string(),
            row.escalated.to_string(),
            row.follow_ups.to_string(),
            optional(row.first_response_p50_s),
            optional(row.first_response_p90_s),
            optional(row.resolution_p50_s),
            optional(row.resolution_p90_s),
            row.sla_met.to_string(),
            row.sla_breached.to_string(),
            row.sla_compliance
                .map(|c| c.to_string())
                .unwrap_or_default(),
            row.backlog_end.to_string(),
        ]);
    }
    let body = match written
        .map_err(|e| e.to_string())
        .and_then(|()| writer.into_inner().map_err(|e| e.to_string()))
    {
        Ok(body) => body,
        Err(error) => return failure(&chrome, ApiError::internal(error)),
    };
    let filename = format!(
        "docket-kpis-{}-{}-{}.csv",
        asked.from, asked.to, asked.bucket
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}
