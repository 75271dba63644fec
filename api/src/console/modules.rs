//! Text modules for agents (contract v1.2, "Text modules"): the org's
//! modules listed, saved and removed through the API's own checks
//! (`authorize_text_modules`, `parse::save_text_module`, the command
//! service); support and auditors read them.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use docket_domain::access::{Action, Read};
use docket_domain::text_module::{
    authorize_text_modules, may_read_text_modules, RemoveTextModule, TextModuleCommand,
    TextModuleName,
};
use docket_domain::types::{Actor, OrgId, OrgScope};
use serde::Deserialize;
use serde_json::json;

use super::actions::{body_of, checked_fields, field, meta, sentence, shown_then, Fields};
use super::html;
use super::pages::failure;
use super::session::Session;
use super::view::{ModuleRow, ModulesTemplate};
use crate::problem::ApiError;
use crate::{parse, AppState};

/// The page's query: the org (platform-wide people pick one), and a
/// module to load into the form.
#[derive(Debug, Default, Deserialize)]
pub struct ModulesParams {
    org: Option<String>,
    edit: Option<String>,
}

/// The org a page or form is about: the one asked, else the actor's own.
fn org_of(actor: &Actor, asked: Option<&str>) -> Result<Option<OrgId>, ApiError> {
    match asked.map(str::trim).filter(|org| !org.is_empty()) {
        Some(org) => Ok(Some(parse::path_org(org)?)),
        None => Ok(match &actor.org {
            OrgScope::Org(org) => Some(org.clone()),
            OrgScope::Platform => None,
        }),
    }
}

/// `GET /console/text-modules[?org=&edit=]`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    params: Result<Query<ModulesParams>, QueryRejection>,
) -> Response {
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let typed = Fields::new();
    render(
        &state,
        &session,
        params.org.as_deref(),
        params.edit.as_deref(),
        StatusCode::OK,
        None,
        &typed,
    )
    .await
}

async fn render(
    state: &AppState,
    session: &Session,
    org: Option<&str>,
    edit: Option<&str>,
    status: StatusCode,
    error: Option<String>,
    typed: &Fields,
) -> Response {
    let chrome = session.chrome();
    let actor = &session.actor;
    if let Err(refused) = Read::TextModules.permit(actor) {
        return failure(&chrome, refused.into());
    }
    let org = match org_of(actor, org) {
        Ok(org) => org,
        Err(error) => return failure(&chrome, error),
    };
    let mut rows = Vec::new();
    if let Some(org) = &org {
        if let Err(refused) = may_read_text_modules(actor, org) {
            return failure(&chrome, refused.into());
        }
        super::pages::catch_up(state).await;
        match state.reads.text_modules(actor, org, None, None).await {
            Ok(modules) => {
                rows = modules
                    .into_iter()
                    .map(|module| ModuleRow {
                        channels: module
                            .sales_channels
                            .iter()
                            .map(|c| c.as_str().to_owned())
                            .collect::<Vec<_>>()
                            .join(", "),
                        name: module.name,
                        title: module.title,
                        body: module.body,
                        version: module.version,
                    })
                    .collect()
            }
            Err(error) => return failure(&chrome, error.into()),
        }
    }
    let editing = edit.and_then(|name| rows.iter().find(|row| row.name == name));
    let value = |name: &str, from_row: Option<String>| {
        typed.get(name).cloned().or(from_row).unwrap_or_default()
    };
    let page = ModulesTemplate {
        chrome: &chrome,
        org: org.as_ref().map(|o| o.to_string()).unwrap_or_default(),
        may_manage: Action::ManageTextModules.is_permitted_for(actor.role),
        name: value("name", editing.map(|row| row.name.clone())),
        title: value("title", editing.map(|row| row.title.clone())),
        body: value("body", editing.map(|row| row.body.clone())),
        channels: value("sales_channels", editing.map(|row| row.channels.clone())),
        error,
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        rows,
    };
    html(status, askama::Template::render(&page))
}

/// `POST /console/text-modules`: saves (creates or replaces) a module.
pub async fn save(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let fields = match checked_fields(&session, form) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let outcome = async {
        Action::ManageTextModules.permit(session.actor.role)?;
        let org = org_of(&session.actor, fields.get("org").map(String::as_str))?
            .ok_or_else(|| ApiError::invalid("invalid_field", "name the org the module is for"))?;
        authorize_text_modules(&session.actor, &org)?;
        let name = TextModuleName::parse(field(&fields, "name").trim()).map_err(|_| {
            ApiError::invalid(
                "invalid_field",
                "a module's name is 1-64 lower-case letters, digits and dashes",
            )
        })?;
        let channels: Vec<&str> = field(&fields, "sales_channels")
            .split(',')
            .map(str::trim)
            .filter(|channel| !channel.is_empty())
            .collect();
        let body = json!({
            "title": field(&fields, "title").trim(),
            "body": field(&fields, "body"),
            "sales_channels": channels,
        });
        let path = format!("/v1/orgs/{org}/text-modules/{}", name.as_str());
        let meta = meta(&session, &fields, &path, &body)?;
        let command = parse::save_text_module(org.clone(), name, body_of(&body)?)?;
        let answer = state.commands.text_module(meta, command).await?;
        Ok::<_, ApiError>((org, answer))
    }
    .await;
    match outcome {
        Ok((org, answer)) => {
            shown_then(&state, &answer, &format!("/console/text-modules?org={org}")).await
        }
        Err(error) if error.status == StatusCode::FORBIDDEN => failure(&session.chrome(), error),
        Err(error) => {
            let status = error.status;
            render(
                &state,
                &session,
                fields.get("org").map(String::as_str),
                None,
                status,
                Some(sentence(&error)),
                &fields,
            )
            .await
        }
    }
}

/// `POST /console/text-modules/{name}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let fields = match checked_fields(&session, form) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let outcome = async {
        Action::ManageTextModules.permit(session.actor.role)?;
        let org = org_of(&session.actor, fields.get("org").map(String::as_str))?
            .ok_or_else(ApiError::not_found)?;
        authorize_text_modules(&session.actor, &org)?;
        let name = TextModuleName::parse(&name).map_err(|_| ApiError::not_found())?;
        let path = format!("/v1/orgs/{org}/text-modules/{}", name.as_str());
        let meta = meta(&session, &fields, &path, &json!({}))?;
        let command = TextModuleCommand::Remove(RemoveTextModule {
            org: org.clone(),
            name,
        });
        let answer = state.commands.text_module(meta, command).await?;
        Ok::<_, ApiError>((org, answer))
    }
    .await;
    match outcome {
        Ok((org, answer)) => {
            shown_then(&state, &answer, &format!("/console/text-modules?org={org}")).await
        }
        Err(error) => failure(&session.chrome(), error),
    }
}
