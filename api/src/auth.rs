//! Bearer tokens: HS256 JWTs carrying `sub`, `org`, `role` and `exp`.
//!
//! The secret comes from `DOCKET_JWT_SECRET`, a file named by
//! `--jwt-secret-file`, or (neither given) a random secret created on first
//! start inside the data folder with mode 0600, so the server runs with no
//! set-up and `docketd token --data-dir D` can sign with the same secret.

use crate::error::ServerError;
use std::io::Write;
use std::path::{Path, PathBuf};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use docket_domain::types::{Actor, OrgScope, Role};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::problem::ApiError;
use crate::AppState;

/// Name of the generated secret inside the data folder.
pub const SECRET_FILE_NAME: &str = "jwt-secret";
/// Bytes of randomness in a generated secret (hex-encoded on disk).
const GENERATED_SECRET_BYTES: usize = 32;

/// Where the signing secret came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    File(PathBuf),
    Generated(PathBuf),
    DataFolder(PathBuf),
}

#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub org: String,
    pub role: String,
    pub exp: u64,
}

/// Resolves the secret: the environment's, then the named file, then the
/// data folder's own (created when missing).
pub fn load_secret(
    from_env: Option<&str>,
    secret_file: Option<&Path>,
    data_dir: &Path,
) -> Result<(Vec<u8>, SecretSource), ServerError> {
    if let Some(secret) = from_env.filter(|s| !s.is_empty()) {
        return Ok((secret.as_bytes().to_vec(), SecretSource::Environment));
    }
    if let Some(path) = secret_file {
        let secret = read_secret(path)?;
        return Ok((secret, SecretSource::File(path.to_owned())));
    }
    let path = data_dir.join(SECRET_FILE_NAME);
    if path.exists() {
        return Ok((read_secret(&path)?, SecretSource::DataFolder(path)));
    }
    let secret = create_secret(&path)?;
    Ok((secret, SecretSource::Generated(path)))
}

fn read_secret(path: &Path) -> Result<Vec<u8>, ServerError> {
    let text = std::fs::read(path).map_err(|source| ServerError::SecretRead {
        path: path.to_owned(),
        source,
    })?;
    let trimmed = text.trim_ascii();
    if trimmed.is_empty() {
        return Err(ServerError::SecretEmpty {
            path: path.to_owned(),
        });
    }
    Ok(trimmed.to_vec())
}

fn create_secret(path: &Path) -> Result<Vec<u8>, ServerError> {
    use std::os::unix::fs::OpenOptionsExt;
    let create_error = |source| ServerError::SecretCreate {
        path: path.to_owned(),
        source,
    };
    let mut random = [0u8; GENERATED_SECRET_BYTES];
    rand::fill(&mut random);
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(create_error)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(create_error)?;
    file.write_all(hex.as_bytes()).map_err(create_error)?;
    file.sync_all().map_err(create_error)?;
    Ok(hex.into_bytes())
}

impl Keys {
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

    pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
    }

    /// Verifies a bearer token and parses its claims into an actor.
    pub fn verify(&self, token: &str) -> Result<Actor, ApiError> {
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
        Ok(Actor {
            sub: claims.sub,
            role,
            org,
        })
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

    #[test]
    fn a_generated_secret_is_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("docket-secret-{}", uuid::Uuid::new_v4()));
        let (first, source) = load_secret(None, None, &dir).expect("created");
        assert!(matches!(source, SecretSource::Generated(_)));
        let mode = std::fs::metadata(dir.join(SECRET_FILE_NAME))
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (second, source) = load_secret(None, None, &dir).expect("read back");
        assert_eq!(first, second);
        assert!(matches!(source, SecretSource::DataFolder(_)));
        std::fs::remove_dir_all(dir).ok();
    }
}
