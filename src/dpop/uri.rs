//! The `htu` comparison: both the proof's URI and the request's are reduced to one form
//! before comparing, as RFC 9449 §4.3 asks (RFC 3986 §6.2.2 syntax-based and §6.2.3
//! scheme-based normalisation), ignoring any query and fragment.

/// `uri` reduced for comparison, or `None` when it is not an absolute `http`/`https`
/// URI: scheme and host in lower case, the scheme's default port removed, an empty path
/// as `/`, percent-encodings of unreserved characters decoded and the rest in upper-case
/// hex, dot segments removed, query and fragment dropped. Userinfo (`user@host`) is
/// refused: a proof names a resource, never credentials.
pub(crate) fn normalize(uri: &str) -> Option<String> {
    let without_fragment = uri.split('#').next().unwrap_or_default();
    let base = without_fragment.split('?').next().unwrap_or_default();
    if !base.bytes().all(is_uri_byte) {
        return None;
    }
    let (scheme, rest) = base.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return None;
    }
    let (host, port) = split_host_port(authority)?;
    let mut out = String::with_capacity(uri.len() + 1);
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(&host.to_ascii_lowercase());
    if let Some(port) = port {
        if port != default_port {
            out.push(':');
            out.push_str(&port.to_string());
        }
    }
    let path = normalize_percent_encoding(path)?;
    let path = remove_dot_segments(&path);
    if path.is_empty() {
        out.push('/');
    } else {
        out.push_str(&path);
    }
    Some(out)
}

/// Characters allowed anywhere in a URI (RFC 3986 §2): unreserved, reserved and `%`.
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// Host and port of an authority: a non-empty host (a bracketed IP literal or a name of
/// unreserved and sub-delimiter characters) and an optional port (an empty one is none).
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let name_ok = host.starts_with('[')
        || host
            .bytes()
            .all(|b| is_unreserved(b) || b"!$&'()*+,;=".contains(&b));
    if host.is_empty() || !name_ok {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(digits) if digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse::<u16>().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// Decode `%XX` of unreserved characters, upper-case the hex of the others; a `%` not
/// followed by two hex digits makes the URI invalid.
fn normalize_percent_encoding(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let hi = hex_value(*bytes.get(i + 1)?)?;
        let lo = hex_value(*bytes.get(i + 2)?)?;
        let decoded = (hi << 4) | lo;
        if is_unreserved(decoded) {
            out.push(char::from(decoded));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER.get(usize::from(hi)).copied()?));
            out.push(char::from(HEX_UPPER.get(usize::from(lo)).copied()?));
        }
        i += 3;
    }
    Some(out)
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// RFC 3986 §5.2.4, on a path that starts with `/` or is empty.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {
                if i == last {
                    output.push("");
                }
            }
            ".." => {
                output.pop();
                if i == last {
                    output.push("");
                }
            }
            other => output.push(other),
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in output {
        out.push('/');
        out.push_str(segment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_host_and_default_port_are_normalised() {
        for (given, expected) in [
            (
                "https://server.example.com/token",
                "https://server.example.com/token",
            ),
            (
                "HTTPS://Server.Example.COM/token",
                "https://server.example.com/token",
            ),
            (
                "https://server.example.com:443/token",
                "https://server.example.com/token",
            ),
            (
                "http://server.example.com:80/token",
                "http://server.example.com/token",
            ),
            (
                "https://server.example.com:/token",
                "https://server.example.com/token",
            ),
            (
                "https://server.example.com:8443/token",
                "https://server.example.com:8443/token",
            ),
            (
                "http://server.example.com:443/x",
                "http://server.example.com:443/x",
            ),
            (
                "https://server.example.com:08443/x",
                "https://server.example.com:8443/x",
            ),
            ("https://server.example.com", "https://server.example.com/"),
            ("https://[::1]:443/x", "https://[::1]/x"),
            ("https://[::1]:8080/x", "https://[::1]:8080/x"),
        ] {
            assert_eq!(normalize(given).as_deref(), Some(expected), "{given}");
        }
    }

    #[test]
    fn query_and_fragment_are_ignored() {
        for given in [
            "https://a.example/r?x=1",
            "https://a.example/r#frag",
            "https://a.example/r?x=1#frag",
            "https://a.example/r?",
        ] {
            assert_eq!(
                normalize(given).as_deref(),
                Some("https://a.example/r"),
                "{given}"
            );
        }
    }

    #[test]
    fn paths_keep_their_case_and_lose_dot_segments_and_needless_escapes() {
        for (given, expected) in [
            ("https://a.example/Path/To", "https://a.example/Path/To"),
            ("https://a.example/a/./b/../c", "https://a.example/a/c"),
            ("https://a.example/a/b/..", "https://a.example/a/"),
            ("https://a.example/%7euser", "https://a.example/~user"),
            ("https://a.example/a%2fb", "https://a.example/a%2Fb"),
            ("https://a.example/%41", "https://a.example/A"),
            ("https://a.example/a/", "https://a.example/a/"),
        ] {
            assert_eq!(normalize(given).as_deref(), Some(expected), "{given}");
        }
    }

    #[test]
    fn non_http_relative_or_odd_uris_are_refused() {
        for bad in [
            "",
            "/token",
            "server.example.com/token",
            "ftp://a.example/x",
            "https:///x",
            "https://user@a.example/x",
            "https://a.example:99999/x",
            "https://a.example:8x/x",
            "https://a.example/a b",
            "https://a.example/%zz",
            "https://a.example/%4",
            "https://a.example/é",
            "https://[::1/x",
            "https://[::1]x/x",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
