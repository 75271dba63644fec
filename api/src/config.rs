//! Command line and environment: every flag has a `DOCKET_*` twin.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The `docketd` command line: serve, or run a subcommand.
#[derive(Debug, Parser)]
#[command(
    name = "docketd",
    version,
    about = "Docket: event-sourced support tickets"
)]
pub struct Cli {
    /// Where the data folder and the signing secret are.
    #[command(flatten)]
    pub common: CommonArgs,
    /// How to serve.
    #[command(flatten)]
    pub server: ServerArgs,
    /// A subcommand instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What both the server and `token` need to find the signing secret.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// The data folder (event log, read models, generated secret).
    #[arg(long, env = "DOCKET_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// HS256 secret for bearer tokens (prefer the file or the generated one).
    #[arg(long, env = "DOCKET_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// A file holding the HS256 secret.
    #[arg(long, env = "DOCKET_JWT_SECRET_FILE", global = true)]
    pub jwt_secret_file: Option<PathBuf>,
}

/// What only the server needs.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "DOCKET_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Publish the log to NATS JetStream at this URL (`nats://HOST:PORT`)
    /// and feed the read models from there; without it everything runs
    /// in-process.
    #[arg(long, env = "DOCKET_NATS_URL")]
    pub nats: Option<String>,
    /// Take time from a clock set by `POST /v1/admin/clock` (tests only).
    #[arg(long, env = "DOCKET_TEST_CLOCK")]
    pub test_clock: bool,
    /// Log format.
    #[arg(long, env = "DOCKET_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Longest a request may take before it is answered 503 `timeout`.
    #[arg(long, env = "DOCKET_REQUEST_TIMEOUT_MS", default_value_t = 15_000)]
    pub request_timeout_ms: u64,
    /// The largest attachment taken, in bytes (a file of exactly this size
    /// is taken; one more byte is 413 `attachment_too_large`).
    #[arg(long, env = "DOCKET_ATTACHMENT_MAX_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub attachment_max_bytes: u64,
    /// The SMTP server notifications go through: `smtp://host:port`,
    /// `smtp+starttls://…` or `smtps://…`, optionally `user:password@`.
    /// Mail is off unless this and `--mail-from` are both given.
    #[arg(long, env = "DOCKET_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The `From` address (and envelope sender) of notifications.
    #[arg(long, env = "DOCKET_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// The base of links in notifications; default `http://<listen>`.
    #[arg(long, env = "DOCKET_PUBLIC_URL")]
    pub public_url: Option<String>,
}

impl ServerArgs {
    /// `--public-url`, or `http://<listen>`.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// `--request-timeout-ms` as a `Duration`.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The subcommands of `docketd`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a signed bearer token for the server's secret.
    Token(TokenArgs),
}

/// `docketd token`: the claims of the token to print.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The actor id (the `sub` claim).
    #[arg(long, env = "DOCKET_TOKEN_SUB")]
    pub sub: String,
    /// An org id, or `*` for platform-wide staff.
    #[arg(long, env = "DOCKET_TOKEN_ORG")]
    pub org: String,
    /// customer, agent, support, auditor, analyst or admin.
    #[arg(long, env = "DOCKET_TOKEN_ROLE")]
    pub role: String,
    /// Lifetime: a number with a unit, `s`, `m`, `h` or `d` (e.g. `90m`).
    #[arg(long, env = "DOCKET_TOKEN_TTL", default_value = "1h", value_parser = parse_ttl)]
    pub ttl: Duration,
    /// Print the console's sign-in link (`{public-url}/console/sign-in?token=T`)
    /// instead of the bare token.
    #[arg(long)]
    pub link: bool,
    /// The base of the link: the URL people reach docketd at.
    #[arg(
        long,
        env = "DOCKET_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
}

/// `30s`, `15m`, `1h`, `7d`.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` needs a unit: s, m, h or d"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit `{unit}`: use s, m, h or d")),
    };
    number
        .checked_mul(seconds_per_unit)
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is not a usable lifetime"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_have_units() {
        assert_eq!(parse_ttl("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_ttl("10").is_err());
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("1y").is_err());
    }
}
