//! `/v1/orgs/{org}/text-modules`: the JSON edge of an org's text modules.
//! On these paths the checks go in the contract's order: a role that may
//! never do the thing (403 `forbidden`), an `{org}` that is not an org id
//! (404), another org's path for an org-scoped token (403 `forbidden_org`),
//! then a name that is not a module name (404), then the headers and body.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_domain::access::{Action, Read};
use docket_domain::text_module::{
    authorize_text_modules, may_read_text_modules, RemoveTextModule, TextModuleCommand,
    TextModuleName,
};
use docket_domain::types::{Actor, OrgId};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Auth;
use crate::json::JsonBody;
use crate::problem::ApiError;
use crate::queries::min_position;
use crate::routes::{meta, respond};
use crate::{dto, parse, AppState};

/// The org and name of a module's path, checked in the contract's order
/// for an actor who `may` (the role check, made first).
fn org_and_name(
    actor: &Actor,
    org: &str,
    name: &str,
    may: fn(&Actor, &OrgId) -> Result<(), docket_domain::DomainError>,
) -> Result<(OrgId, TextModuleName), ApiError> {
    let org = parse::path_org(org)?;
    may(actor, &org)?;
    let name = TextModuleName::parse(name).map_err(|_| ApiError::not_found())?;
    Ok((org, name))
}

/// `PUT /v1/orgs/{org}/text-modules/{name}`: 201 for a new module, 200
/// for a replaced one.
pub async fn save(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: JsonBody<dto::TextModuleBody>,
) -> Result<Response, ApiError> {
    Action::ManageTextModules.permit(actor.role)?;
    let (org, name) = org_and_name(&actor, &org, &name, authorize_text_modules)?;
    let path = format!("/v1/orgs/{org}/text-modules/{}", name.as_str());
    let meta = meta(actor, &headers, &Method::PUT, &path, &body.raw)?;
    let command = parse::save_text_module(org, name, body.value()?)?;
    let answer = state.commands.text_module(meta, command).await?;
    Ok(respond(answer))
}

/// `DELETE /v1/orgs/{org}/text-modules/{name}`.
pub async fn remove(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Action::ManageTextModules.permit(actor.role)?;
    let (org, name) = org_and_name(&actor, &org, &name, authorize_text_modules)?;
    let path = format!("/v1/orgs/{org}/text-modules/{}", name.as_str());
    let meta = meta(actor, &headers, &Method::DELETE, &path, &[])?;
    let command = TextModuleCommand::Remove(RemoveTextModule { org, name });
    let answer = state.commands.text_module(meta, command).await?;
    Ok(respond(answer))
}

/// The query of the module list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    sales_channel: Option<String>,
    min_position: Option<u64>,
}

/// `GET /v1/orgs/{org}/text-modules[?sales_channel=]`: `{items}` by name.
pub async fn list(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(org): Path<String>,
    headers: HeaderMap,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    Read::TextModules.permit(&actor)?;
    let org = parse::path_org(&org)?;
    may_read_text_modules(&actor, &org)?;
    let channel = parse::optional_sales_channel(params.sales_channel.as_deref())?;
    let min_position = min_position(&headers, params.min_position)?;
    let items = state
        .reads
        .text_modules(&actor, &org, channel.as_ref(), min_position)
        .await?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// The query of one module.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneParams {
    min_position: Option<u64>,
}

/// `GET /v1/orgs/{org}/text-modules/{name}`, with its `ETag`.
pub async fn one(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
    Query(params): Query<OneParams>,
) -> Result<Response, ApiError> {
    Read::TextModules.permit(&actor)?;
    let (org, name) = org_and_name(&actor, &org, &name, may_read_text_modules)?;
    let min_position = min_position(&headers, params.min_position)?;
    let module = state
        .reads
        .text_module(&actor, &org, &name, min_position)
        .await?;
    let mut response = Json(&module).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", module.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}
