"""Verify a gatepass token with PyJWT, trusting only a JWK Set (a file or a URL).

usage: pyjwt_verify.py JWKS_FILE_OR_URL TOKEN ISS AUD
Prints the verified claims as JSON; exits 1 with the PyJWT error otherwise.
The algorithm comes from the JWK (never from the token header), as gatepass does. A URL
(http:// or https://, e.g. a gatepass server's /.well-known/jwks.json) is fetched with
jwt.PyJWKClient.
"""
import json
import sys

import jwt


def signing_key(source: str, token: str) -> jwt.PyJWK:
    if source.startswith(("http://", "https://")):
        return jwt.PyJWKClient(source, cache_jwk_set=False).get_signing_key_from_jwt(token)
    with open(source, encoding="utf-8") as f:
        jwks = jwt.PyJWKSet.from_dict(json.load(f))
    kid = jwt.get_unverified_header(token).get("kid")
    matches = [k for k in jwks.keys if k.key_id == kid]
    if len(matches) != 1:
        raise jwt.PyJWKClientError(f"no unique key for kid {kid!r}")
    return matches[0]


def main() -> int:
    source, token, iss, aud = sys.argv[1:5]
    try:
        key = signing_key(source, token)
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[key.algorithm_name],
            audience=aud,
            issuer=iss,
            options={"require": ["exp", "iat", "jti", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(claims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
