//! Where `gatepass serve` takes its settings from: flags, then `GATEPASS_*` environment
//! variables, then the TOML file of `--config FILE`, then the defaults.
//!
//! Each setting is declared once, as a flag of [`ServeCli`](super::ServeCli); its
//! environment variable is `GATEPASS_` and the flag's name in upper case with `-` as `_`,
//! and its file key the flag's name with `-` as `_`. Values from the environment and the
//! file are turned into the flags they stand for and parsed by the same parser, so a bad
//! value is refused the same way wherever it comes from, and the error names where.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Args, Command, FromArgMatches};
use serde_json::{json, Value};

use super::output::Failure;
use super::ServeCli;

/// Where a setting's effective value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Flag,
    Env,
    File,
    Default,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Env => "env",
            Self::File => "file",
            Self::Default => "default",
        }
    }
}

/// The settings, resolved, and where each came from.
pub(crate) struct Resolved {
    pub(crate) cli: ServeCli,
    matches: ArgMatches,
    sources: BTreeMap<String, Source>,
}

/// Flags that say where the settings are, not settings themselves.
const NOT_LAYERED: [&str; 2] = ["config", "print_config"];

fn command() -> Command {
    ServeCli::augment_args(Command::new("serve").no_binary_name(true))
}

/// The first line of a clap error, without its `error: ` prefix.
fn clap_message(err: &clap::Error) -> String {
    let text = err.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

/// Parse `args` (no binary name) as serve flags; a failure is a usage error from `origin`.
fn parse(args: &[OsString], origin: &str) -> Result<ArgMatches, Failure> {
    command()
        .try_get_matches_from(args)
        .map_err(|e| Failure::usage(format!("{origin}: {}", clap_message(&e))))
}

/// The flags one setting's value stands for: `--name VALUE`, `--name` for a true switch,
/// nothing for a false one, the flag repeated for a list.
fn as_flags(long: &str, action: &ArgAction, value: &Value) -> Result<Vec<OsString>, String> {
    let flag = OsString::from(format!("--{long}"));
    if matches!(action, ArgAction::SetTrue) {
        return match value {
            Value::Bool(true) => Ok(vec![flag]),
            Value::Bool(false) => Ok(Vec::new()),
            _ => Err("expected true or false".to_owned()),
        };
    }
    let one = |value: &Value| -> Result<String, String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err("expected a string or a number".to_owned()),
        }
    };
    match (value, action) {
        (Value::Array(items), ArgAction::Append) => items
            .iter()
            .map(|item| Ok([flag.clone(), one(item)?.into()]))
            .collect::<Result<Vec<_>, String>>()
            .map(|pairs| pairs.concat()),
        (Value::Array(_), _) => Err("expected one value, not a list".to_owned()),
        (value, _) => Ok(vec![flag, one(value)?.into()]),
    }
}

/// An environment variable's text as a JSON value of the setting's shape: switches take
/// `true`/`false` (or `1`/`0`), lists are comma-separated.
fn env_value(action: &ArgAction, text: &str) -> Result<Value, String> {
    match action {
        ArgAction::SetTrue => match text.trim() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" | "" => Ok(Value::Bool(false)),
            _ => Err("expected true or false".to_owned()),
        },
        ArgAction::Append => Ok(Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        )),
        _ => Ok(Value::String(text.to_owned())),
    }
}

fn toml_to_json(value: toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(toml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Float(_) => return Err("expected a whole number".to_owned()),
        _ => return Err("expected a string, a number, a boolean or a list".to_owned()),
    })
}

/// The variable for flag `--long`.
pub(crate) fn env_name(long: &str) -> String {
    format!("GATEPASS_{}", long.to_ascii_uppercase().replace('-', "_"))
}

fn read_file(path: &Path) -> Result<toml::Table, Failure> {
    let origin = format!("--config {}", path.display());
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("{origin}: cannot read it: {e}")))?;
    toml::from_str::<toml::Table>(&text)
        .map_err(|e| Failure::usage(format!("{origin}: not valid TOML: {}", e.message())))
}

/// Resolve the settings of `gatepass serve ARGS` (the arguments after `serve`).
pub(crate) fn resolve(args: &[OsString]) -> Result<Resolved, Failure> {
    let flags = parse(args, "command line")?;
    let given = |id: &str| flags.value_source(id) == Some(ValueSource::CommandLine);
    let config: Option<PathBuf> = flags
        .get_one::<PathBuf>("config")
        .cloned()
        .or_else(|| std::env::var_os(env_name("config")).map(PathBuf::from));
    let mut file = match &config {
        Some(path) => read_file(path)?,
        None => toml::Table::new(),
    };

    let mut sources = BTreeMap::new();
    let mut from_env: Vec<OsString> = Vec::new();
    let mut from_file: Vec<OsString> = Vec::new();
    for arg in command().get_arguments() {
        let id = arg.get_id().as_str();
        let Some(long) = arg.get_long() else { continue };
        let key = long.replace('-', "_");
        if NOT_LAYERED.contains(&key.as_str()) {
            continue;
        }
        let in_file = file.remove(&key);
        if given(id) {
            sources.insert(key, Source::Flag);
            continue;
        }
        let var = env_name(long);
        if let Some(text) = std::env::var_os(&var) {
            let origin = format!("environment variable {var}");
            let text = text
                .into_string()
                .map_err(|_| Failure::usage(format!("{origin}: not UTF-8")))?;
            let value = env_value(arg.get_action(), &text)
                .map_err(|why| Failure::usage(format!("{origin}: {why}")))?;
            let fragment = as_flags(long, arg.get_action(), &value)
                .map_err(|why| Failure::usage(format!("{origin}: {why}")))?;
            parse(&fragment, &origin)?;
            from_env.extend(fragment);
            sources.insert(key, Source::Env);
            continue;
        }
        if let (Some(value), Some(path)) = (in_file, &config) {
            let origin = format!("--config {}: key {key}", path.display());
            let value =
                toml_to_json(value).map_err(|why| Failure::usage(format!("{origin}: {why}")))?;
            let fragment = as_flags(long, arg.get_action(), &value)
                .map_err(|why| Failure::usage(format!("{origin}: {why}")))?;
            parse(&fragment, &origin)?;
            from_file.extend(fragment);
            sources.insert(key, Source::File);
            continue;
        }
        sources.insert(key, Source::Default);
    }
    if let (Some(unknown), Some(path)) = (file.keys().next(), &config) {
        return Err(Failure::usage(format!(
            "--config {}: unknown key {unknown:?} (keys are the serve flags with - as _)",
            path.display()
        )));
    }

    let mut all = from_file;
    all.extend(from_env);
    all.extend(args.iter().cloned());
    let matches = parse(&all, "settings")?;
    let cli = ServeCli::from_arg_matches(&matches).map_err(|e| Failure::usage(clap_message(&e)))?;
    Ok(Resolved {
        cli,
        matches,
        sources,
    })
}

/// `url` with any password (`user:PASSWORD@`, `password=` in the query) replaced by `****`.
pub(crate) fn mask_secrets(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out
            .get(rest..)
            .and_then(|tail| tail.find(['/', '?', '#']))
            .map_or(out.len(), |i| rest + i);
        // `user:password@`; a bare `user@` names no secret.
        if let Some(at) = out.get(rest..authority_end).and_then(|a| a.rfind('@')) {
            let userinfo = rest..rest + at;
            if let Some((user, _)) = out.get(userinfo.clone()).and_then(|u| u.split_once(':')) {
                let masked = format!("{user}:****");
                out.replace_range(userinfo, &masked);
            }
        }
    }
    if let Some(query) = out.find('?') {
        let (head, tail) = out.split_at(query);
        let masked: Vec<String> = tail
            .trim_start_matches('?')
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                    format!("{name}=****")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{head}?{}", masked.join("&"));
    }
    out
}

impl Resolved {
    /// The effective settings as JSON, secrets masked, with where each came from.
    pub(crate) fn to_json(&self) -> Value {
        let mut settings = serde_json::Map::new();
        for arg in command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let key = long.replace('-', "_");
            if NOT_LAYERED.contains(&key.as_str()) {
                continue;
            }
            let id = arg.get_id().as_str();
            let raw: Vec<String> = self
                .matches
                .get_raw(id)
                .map(|values| {
                    values
                        .map(|v: &OsStr| mask_secrets(&v.to_string_lossy()))
                        .collect()
                })
                .unwrap_or_default();
            let value = match arg.get_action() {
                ArgAction::SetTrue => Value::Bool(self.matches.get_flag(id)),
                ArgAction::Append => json!(raw),
                _ => raw.into_iter().next().map_or(Value::Null, Value::String),
            };
            settings.insert(key, value);
        }
        let sources: serde_json::Map<String, Value> = self
            .sources
            .iter()
            .map(|(k, s)| (k.clone(), Value::String(s.as_str().to_owned())))
            .collect();
        json!({ "settings": settings, "sources": sources })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_store_urls_are_masked() {
        assert_eq!(
            mask_secrets("redis://:s3cret@cache:6379/0"),
            "redis://:****@cache:6379/0"
        );
        assert_eq!(
            mask_secrets("rediss://app:p@ss:w@host:1"),
            "rediss://app:****@host:1"
        );
        assert_eq!(
            mask_secrets("postgres://app@db:5432/gp?sslmode=require&password=x"),
            "postgres://app@db:5432/gp?sslmode=require&password=****"
        );
        assert_eq!(mask_secrets("memory"), "memory");
        assert_eq!(
            mask_secrets("file:/var/lib/gp.journal"),
            "file:/var/lib/gp.journal"
        );
        assert_eq!(mask_secrets("redis://app@h:1"), "redis://app@h:1");
    }

    #[test]
    fn environment_names_follow_the_flags() {
        assert_eq!(
            env_name("max-login-failures"),
            "GATEPASS_MAX_LOGIN_FAILURES"
        );
        assert_eq!(env_name("store"), "GATEPASS_STORE");
    }
}
