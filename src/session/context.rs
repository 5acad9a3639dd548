//! [`RequestContext`]: what a login or refresh knows of its request beyond the
//! credentials.

use crate::dpop::VerifiedProof;
use crate::revocation::ClientInfo;

/// What a login or refresh knows of the request it serves beyond the credentials: the
/// client (its user agent and truncated address, remembered with the session for the
/// session listing) and the DPoP proof the caller verified for it (which binds the
/// session to the proof's key). Both optional; the default is neither.
///
/// ```
/// use gatepass::{ClientInfo, RequestContext};
///
/// let client = ClientInfo::new(Some("curl/8.5"), Some("203.0.113.7".parse()?));
/// let context = RequestContext::new().client(client);
/// # let _ = context;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RequestContext<'a> {
    pub(crate) client: Option<ClientInfo>,
    pub(crate) proof: Option<&'a VerifiedProof>,
}

impl<'a> RequestContext<'a> {
    /// Nothing known: no client (a login's session has an unknown client, a refresh keeps
    /// the one it had) and no proof.
    pub fn new() -> Self {
        Self::default()
    }

    /// The request's client, as the server judged it (behind trusted proxies).
    pub fn client(mut self, client: ClientInfo) -> Self {
        self.client = Some(client);
        self
    }

    /// A DPoP proof the caller has verified for this request (RFC 9449).
    pub fn proof(mut self, proof: &'a VerifiedProof) -> Self {
        self.proof = Some(proof);
        self
    }

    /// [`proof`](Self::proof) when there is one.
    pub fn maybe_proof(mut self, proof: Option<&'a VerifiedProof>) -> Self {
        self.proof = proof;
        self
    }
}
