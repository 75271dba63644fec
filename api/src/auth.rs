//! Bearer tokens: HS256 JWTs carrying `sub`, `org`, `role` and `exp`, signed
//! with the secret the data folder resolves (`docket_app::datadir`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use docket_domain::types::{Actor, OrgScope, Role};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::problem::ApiError;
use crate::AppState;

/// Signs and verifies tokens with the server's secret.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

/// A token's claims, as signed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The actor id, 1–255 bytes.
    pub sub: String,
    /// An org id, or `*` for platform-wide staff.
    pub org: String,
    /// One of the contract's roles: `customer`, `agent`, `support`, `auditor`,
    /// `analyst` or `admin`.
    pub role: String,
    /// When the token expires, in seconds since the Unix epoch; required.
    pub exp: u64,
}

impl Keys {
    /// Keys for `secret`.
    pub fn new(secret: &[u8]) -> Keys {
        let mut validation = Validation::new(Algorithm::HS256);
        // `exp` must be present, and no leeway: an expired token is expired.
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 0;
        validation.validate_exp = true;
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A signed token of `claims`.
    pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
    }

    /// Verifies a bearer token and parses its claims into an actor.
    pub fn verify(&self, token: &str) -> Result<Actor, ApiError> {
        self.verify_with_expiry(token).map(|(actor, _)| actor)
    }

    /// [`Keys::verify`], with the token's `exp` (seconds since the epoch):
    /// the console's cookie must not outlive its token.
    pub fn verify_with_expiry(&self, token: &str) -> Result<(Actor, u64), ApiError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|error| ApiError::unauthorized(format!("invalid token: {error}")))?;
        let claims = data.claims;
        let role = Role::parse(&claims.role)
            .ok_or_else(|| ApiError::unauthorized("the token's role is not one of the contract"))?;
        let org = OrgScope::parse(&claims.org)
            .ok_or_else(|| ApiError::unauthorized("the token's org is not a valid org id"))?;
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return Err(ApiError::unauthorized(
                "the token's sub must be 1-255 bytes",
            ));
        }
        Ok((
            Actor {
                sub: claims.sub,
                role,
                org,
            },
            claims.exp,
        ))
    }
}

/// The authenticated actor of a request (401 without a valid token).
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
        let text = header
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not ASCII"))?;
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        state.keys.verify(token).map(Auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "u1".into(),
            org: "acme".into(),
            role: "agent".into(),
            exp,
        }
    }

    fn in_an_hour() -> u64 {
        jsonwebtoken::get_current_timestamp() + 3600
    }

    #[test]
    fn a_signed_token_verifies_to_its_actor() {
        let keys = Keys::new(b"secret");
        let token = keys.sign(&claims(in_an_hour())).expect("signing works");
        let actor = keys.verify(&token).expect("valid token");
        assert_eq!(actor.sub, "u1");
        assert_eq!(actor.role, Role::Agent);
    }

    #[test]
    fn expired_foreign_unsigned_and_exp_less_tokens_are_refused() {
        let keys = Keys::new(b"secret");
        let expired = keys.sign(&claims(1_000)).expect("signing works");
        assert_eq!(keys.verify(&expired).unwrap_err().code, "unauthorized");
        let foreign = Keys::new(b"other")
            .sign(&claims(in_an_hour()))
            .expect("signing works");
        assert!(keys.verify(&foreign).is_err());
        // alg: none, hand-made.
        let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        let body = "eyJzdWIiOiJ1MSIsIm9yZyI6ImFjbWUiLCJyb2xlIjoiYWdlbnQiLCJleHAiOjk5OTk5OTk5OTl9";
        assert!(keys.verify(&format!("{header}.{body}.")).is_err());
        #[derive(Serialize)]
        struct NoExp {
            sub: String,
            org: String,
            role: String,
        }
        let no_exp = encode(
            &Header::new(Algorithm::HS256),
            &NoExp {
                sub: "u1".into(),
                org: "acme".into(),
                role: "agent".into(),
            },
            &EncodingKey::from_secret(b"secret"),
        )
        .expect("signing works");
        assert!(keys.verify(&no_exp).is_err());
    }
}
