//! `console_bench`: how long the console's pages take to serve, and how
//! big they are, against a running `docketd` (filled by `loadgen`; see
//! `scripts/console_bench.sh` and docs/benchmarks.md, "Console pages").
//!
//! It signs an agent of `--org` in through the sign-in form, reads ticket
//! ids from the inboxes' pages, then for each page kind sends `--requests`
//! GETs one after the other on one keep-alive connection and reports the
//! latency (request to whole body, on loopback) p50 / p99 / max and the
//! body's size.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::json;

#[derive(Debug, Parser)]
#[command(about = "Console page latency and size against a running docketd")]
struct Cli {
    /// The docketd to measure (`http://HOST:PORT`).
    #[arg(long)]
    url: String,
    /// The server's HS256 secret, to sign the agent's token.
    #[arg(long, env = "DOCKET_JWT_SECRET")]
    secret: String,
    /// The org whose agent reads the pages.
    #[arg(long, default_value = "acme")]
    org: String,
    /// GETs per page kind.
    #[arg(long, default_value_t = 300)]
    requests: usize,
}

/// The path of a page kind's `i`-th request.
type PathOf = Box<dyn Fn(usize) -> String>;

fn token(secret: &str, org: &str) -> String {
    let claims = json!({
        "sub": "bench-agent",
        "org": org,
        "role": "agent",
        "exp": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            + 3600,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing of JSON claims cannot fail")
}

fn ticket_ids(page: &str) -> Vec<String> {
    page.match_indices("data-ticket-id=\"")
        .map(|(at, found)| {
            let rest = &page[at + found.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_owned()
        })
        .collect()
}

async fn run(cli: Cli) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .build()
        .map_err(|e| e.to_string())?;
    let base = cli.url.trim_end_matches('/').to_owned();
    let signed_in = client
        .post(format!("{base}/console/sign-in"))
        .form(&[("token", token(&cli.secret, &cli.org))])
        .send()
        .await
        .map_err(|e| format!("sign in: {e}"))?;
    let cookie = signed_in
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("the sign-in set no cookie (wrong secret?)")?
        .to_owned();
    let get = |path: String| {
        let request = client
            .get(format!("{base}{path}"))
            .header(reqwest::header::COOKIE, &cookie);
        async move {
            let started = Instant::now();
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response.text().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((status, body, started.elapsed()))
        }
    };
    let (_, open_page, _) = get("/console/inbox/open".to_owned()).await?;
    let (_, closed_page, _) = get("/console/inbox/closed".to_owned()).await?;
    let mut tickets = ticket_ids(&open_page);
    tickets.extend(ticket_ids(&closed_page));
    if tickets.is_empty() {
        return Err("the inboxes list no ticket: fill the server first (loadgen)".to_owned());
    }
    let count = |page: &str, tab: &str| -> String {
        let marker = format!("id=\"tab-{tab}\"");
        page.find(&marker)
            .and_then(|at| {
                let rest = &page[at..];
                let start = rest.find("class=\"count\">")? + "class=\"count\">".len();
                let end = rest[start..].find('<')?;
                Some(rest[start..start + end].to_owned())
            })
            .unwrap_or_default()
    };
    println!(
        "inbox counts as the agent sees them: open {}, waiting {}, closed {}",
        count(&open_page, "open"),
        count(&open_page, "waiting"),
        count(&open_page, "closed")
    );
    let kinds: Vec<(&str, PathOf)> = vec![
        (
            "inbox open (50 rows, 3 counts)",
            Box::new(|_| "/console/inbox/open".to_owned()),
        ),
        (
            "inbox open, sorted by due",
            Box::new(|_| "/console/inbox/open?sort=due".to_owned()),
        ),
        (
            "inbox closed",
            Box::new(|_| "/console/inbox/closed".to_owned()),
        ),
        ("search by order number", {
            Box::new(|_| "/console/inbox/open?q=ORD-1".to_owned())
        }),
        ("ticket page", {
            let tickets = tickets.clone();
            Box::new(move |i| format!("/console/tickets/{}", tickets[i % tickets.len()]))
        }),
        ("ticket history", {
            let tickets = tickets.clone();
            Box::new(move |i| format!("/console/tickets/{}/history", tickets[i % tickets.len()]))
        }),
        ("KPIs (30 days)", Box::new(|_| "/console/kpis".to_owned())),
    ];
    println!(
        "{:<32} {:>9} {:>9} {:>9} {:>10}",
        "page", "p50 ms", "p99 ms", "max ms", "bytes"
    );
    for (name, path) in kinds {
        let mut latency = Histogram::<u64>::new(3).map_err(|e| e.to_string())?;
        let mut bytes = 0;
        // A few unmeasured requests warm the caches of the read models.
        for i in 0..10 {
            get(path(i)).await?;
        }
        for i in 0..cli.requests {
            let (status, body, took) = get(path(i)).await?;
            if !status.is_success() {
                return Err(format!("{name}: {} answered {status}", path(i)));
            }
            bytes = bytes.max(body.len());
            latency
                .record(took.as_micros() as u64)
                .map_err(|e| e.to_string())?;
        }
        let ms = |micros: u64| Duration::from_micros(micros).as_secs_f64() * 1000.0;
        println!(
            "{:<32} {:>9.2} {:>9.2} {:>9.2} {:>10}",
            name,
            ms(latency.value_at_quantile(0.5)),
            ms(latency.value_at_quantile(0.99)),
            ms(latency.max()),
            bytes
        );
    }
    let (_, sign_in, _) = get("/console/sign-in".to_owned()).await?;
    if let Some(at) = sign_in.find("/console/assets/console.") {
        let rest = &sign_in[at..];
        let css_path = rest[..rest.find('"').unwrap_or(0)].to_owned();
        let (_, css, _) = get(css_path).await?;
        println!("stylesheet: {} bytes (cached for a year)", css.len());
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("console_bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("console_bench: {error}");
            ExitCode::FAILURE
        }
    }
}
