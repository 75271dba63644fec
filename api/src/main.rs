//! `docketd`: serve the Docket API, or (`docketd token …`) print a token.

use std::process::ExitCode;

use clap::Parser;
use docket_api::auth::{Claims, Keys};
use docket_api::config::{Cli, Command, TokenArgs};
use docket_app::datadir::load_secret;

// sled clones a leaf node per insert, so malloc and free are a large share
// of docketd's CPU, and glibc's malloc keeps freed memory in per-thread
// arenas; mimalloc's per-thread free lists cost less on both counts
// (docs/benchmarks.md, "HTTP commands (docketd)").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Token(args)) => print_token(&cli.common, &args),
        None => serve(cli),
    }
}

fn serve(cli: Cli) -> ExitCode {
    docket_api::observability::init_logging(cli.server.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("docketd: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(docket_api::server::run(cli.common, cli.server)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "docketd cannot run");
            eprintln!("docketd: {error}");
            ExitCode::FAILURE
        }
    }
}

fn print_token(common: &docket_api::config::CommonArgs, args: &TokenArgs) -> ExitCode {
    if docket_domain::types::Role::parse(&args.role).is_none() {
        eprintln!("docketd token: unknown role {:?}", args.role);
        return ExitCode::from(2);
    }
    if docket_domain::types::OrgScope::parse(&args.org).is_none() {
        eprintln!(
            "docketd token: {:?} is neither `*` nor a valid org id",
            args.org
        );
        return ExitCode::from(2);
    }
    let secret = load_secret(
        common.jwt_secret.as_deref(),
        common.jwt_secret_file.as_deref(),
        &common.data_dir,
    );
    let (secret, _) = match secret {
        Ok(found) => found,
        Err(error) => {
            eprintln!("docketd token: {error}");
            return ExitCode::FAILURE;
        }
    };
    let claims = Claims {
        sub: args.sub.clone(),
        org: args.org.clone(),
        role: args.role.clone(),
        exp: jsonwebtoken::get_current_timestamp().saturating_add(args.ttl.as_secs()),
    };
    match Keys::new(&secret).sign(&claims) {
        Ok(token) if args.link => {
            println!(
                "{}/console/sign-in?token={token}",
                args.public_url.trim_end_matches('/')
            );
            ExitCode::SUCCESS
        }
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("docketd token: {error}");
            ExitCode::FAILURE
        }
    }
}
