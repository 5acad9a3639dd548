//! One bounded HTTP GET of a JWK Set: a fresh HTTP/1.1 connection (TLS by rustls on ring
//! for `https://`), a total timeout, a size cap on the body, no redirects, and the
//! `Cache-Control` lifetime of the answer.
//!
//! A JWK Set is fetched every few minutes at most, so there is no connection pool to keep
//! healthy: each fetch connects, asks once, and closes.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper::header::{HeaderMap, ACCEPT, AGE, CACHE_CONTROL, CONTENT_LENGTH, HOST, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types::ServerName};
use tokio_rustls::TlsConnector;

use super::error::{FetchError, JwksClientError};

/// Where the set lives, checked once when the client is built.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) url: String,
    https: bool,
    host: String,
    port: u16,
    authority: String,
    path: String,
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Target {
    pub(crate) fn parse(url: &str, allow_insecure_http: bool) -> Result<Self, JwksClientError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| JwksClientError::InvalidUrl("not a URL"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(_) => {
                return Err(JwksClientError::InvalidUrl(
                    "the scheme must be https or http",
                ))
            }
            None => return Err(JwksClientError::InvalidUrl("not an absolute URL")),
        };
        let authority = uri
            .authority()
            .ok_or(JwksClientError::InvalidUrl("no host"))?;
        if authority.as_str().contains('@') {
            return Err(JwksClientError::InvalidUrl(
                "credentials in a URL end up in logs; remove them",
            ));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(JwksClientError::InvalidUrl("no host"));
        }
        if !https && !allow_insecure_http && !is_loopback(&host) {
            return Err(JwksClientError::InsecureUrl);
        }
        Ok(Self {
            url: url.to_owned(),
            https,
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authority: authority.as_str().to_owned(),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
            host,
        })
    }

    pub(crate) fn is_https(&self) -> bool {
        self.https
    }
}

/// rustls on ring, trusting the webpki (Mozilla) roots, HTTP/1.1 only.
pub(crate) fn default_tls() -> Result<Arc<rustls::ClientConfig>, JwksClientError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| JwksClientError::InvalidConfig("TLS set-up failed"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A successful answer: the body and the lifetime the server asked for.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    /// `max-age` minus `Age`, in seconds; `Some(0)` for `no-store`/`no-cache`; `None`
    /// when the server said nothing.
    pub(crate) max_age: Option<u64>,
}

/// The performer of fetches: a target, a TLS configuration and the limits.
#[derive(Debug)]
pub(crate) struct Fetcher {
    pub(crate) target: Target,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
}

impl Fetcher {
    /// GET the set, all of it (connect, TLS, headers, body) within the timeout.
    pub(crate) async fn fetch(&self) -> Result<Fetched, FetchError> {
        tokio::time::timeout(self.timeout, self.connect_and_get())
            .await
            .map_err(|_| FetchError::Timeout {
                after_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            })?
    }

    async fn connect_and_get(&self) -> Result<Fetched, FetchError> {
        let target = &self.target;
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| FetchError::Connect(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        match (&self.tls, target.https) {
            (Some(tls), true) => {
                let name = ServerName::try_from(target.host.clone())
                    .map_err(|e| FetchError::Tls(e.to_string()))?;
                let stream = TlsConnector::from(Arc::clone(tls))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| FetchError::Tls(e.to_string()))?;
                self.get(TokioIo::new(stream)).await
            }
            (None, true) => Err(FetchError::Tls("no TLS configuration".into())),
            (_, false) => self.get(TokioIo::new(tcp)).await,
        }
    }

    async fn get<T>(&self, io: T) -> Result<Fetched, FetchError>
    where
        T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let http = |e: hyper::Error| FetchError::Http(e.to_string());
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(http)?;
        // The connection future does the I/O. It is aborted when this fetch ends, and also
        // when the fetch is dropped half-way (the timeout drops it), by the guard: no
        // socket outlives its fetch.
        let driver = AbortOnDrop(tokio::spawn(async move {
            let _ = connection.await;
        }));
        let result = self.exchange(&mut sender).await;
        drop(driver);
        result
    }

    async fn exchange(
        &self,
        sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    ) -> Result<Fetched, FetchError> {
        let request = Request::get(self.target.path.as_str())
            .header(HOST, self.target.authority.as_str())
            .header(ACCEPT, "application/jwk-set+json, application/json")
            .header(USER_AGENT, concat!("gatepass/", env!("CARGO_PKG_VERSION")))
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Http(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| FetchError::Http(e.to_string()))?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let too_large = FetchError::TooLarge {
            max: self.max_bytes,
        };
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max_bytes as u64) {
            return Err(too_large);
        }
        let max_age = cache_lifetime(response.headers());
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| FetchError::Http(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len().saturating_add(data.len()) > self.max_bytes {
                    return Err(too_large);
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(Fetched {
            body: bytes,
            max_age,
        })
    }
}

/// The freshness lifetime a response asks for (RFC 9111 §4.2.1, §5.1): `max-age` less the
/// `Age` a shared cache already spent; `0` for `no-store` or `no-cache`. Several `max-age`
/// directives: the shortest wins. `s-maxage` is for shared caches, not for us.
pub(crate) fn cache_lifetime(headers: &HeaderMap) -> Option<u64> {
    let mut lifetime: Option<u64> = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let (name, arg) = match directive.split_once('=') {
                Some((name, arg)) => (name.trim(), Some(arg.trim().trim_matches('"'))),
                None => (directive.trim(), None),
            };
            let secs = if name.eq_ignore_ascii_case("max-age") {
                arg.and_then(|a| a.parse::<u64>().ok())
            } else if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache")
            {
                Some(0)
            } else {
                None
            };
            if let Some(secs) = secs {
                lifetime = Some(lifetime.map_or(secs, |l| l.min(secs)));
            }
        }
    }
    let age = headers
        .get(AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    lifetime.map(|l| l.saturating_sub(age))
}

/// Aborts a spawned task when dropped, including when the future holding it is dropped
/// before completion (a timed-out fetch).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(hyper::header::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn cache_control_lifetimes() {
        assert_eq!(cache_lifetime(&headers(&[])), None);
        assert_eq!(
            cache_lifetime(&headers(&[(CACHE_CONTROL, "public, max-age=600")])),
            Some(600)
        );
        assert_eq!(
            cache_lifetime(&headers(&[(
                CACHE_CONTROL,
                "Max-Age=\"60\", s-maxage=9999"
            )])),
            Some(60)
        );
        assert_eq!(
            cache_lifetime(&headers(&[(CACHE_CONTROL, "no-store")])),
            Some(0)
        );
        assert_eq!(
            cache_lifetime(&headers(&[
                (CACHE_CONTROL, "max-age=300"),
                (CACHE_CONTROL, "max-age=100"),
                (AGE, "40")
            ])),
            Some(60)
        );
        assert_eq!(
            cache_lifetime(&headers(&[(CACHE_CONTROL, "max-age=soon")])),
            None
        );
    }

    #[test]
    fn urls_are_https_or_loopback_http() {
        assert!(Target::parse("https://issuer.example/.well-known/jwks.json", false).is_ok());
        assert!(Target::parse("http://127.0.0.1:8080/jwks", false).is_ok());
        assert!(Target::parse("http://[::1]:8080/jwks", false).is_ok());
        assert!(Target::parse("http://localhost/jwks", false).is_ok());
        assert_eq!(
            Target::parse("http://issuer.example/jwks", false).unwrap_err(),
            JwksClientError::InsecureUrl
        );
        assert!(Target::parse("http://issuer.example/jwks", true).is_ok());
        assert!(matches!(
            Target::parse("ftp://issuer.example/jwks", false),
            Err(JwksClientError::InvalidUrl(_))
        ));
        assert!(matches!(
            Target::parse("https://user:pw@issuer.example/jwks", false),
            Err(JwksClientError::InvalidUrl(_))
        ));
        assert!(matches!(
            Target::parse("/jwks.json", false),
            Err(JwksClientError::InvalidUrl(_))
        ));
        let t = Target::parse("http://127.0.0.1:9/a/b?x=1", false).unwrap();
        assert_eq!((t.port, t.path.as_str()), (9, "/a/b?x=1"));
    }
}
