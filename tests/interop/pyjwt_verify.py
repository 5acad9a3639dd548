"""Verify a gatepass token with PyJWT, trusting only a JWK Set file.

usage: pyjwt_verify.py JWKS_FILE TOKEN ISS AUD
Prints the verified claims as JSON; exits 1 with the PyJWT error otherwise.
The algorithm comes from the JWK (never from the token header), as gatepass does.
"""
import json
import sys

import jwt


def main() -> int:
    jwks_path, token, iss, aud = sys.argv[1:5]
    with open(jwks_path, encoding="utf-8") as f:
        jwks = jwt.PyJWKSet.from_dict(json.load(f))
    kid = jwt.get_unverified_header(token).get("kid")
    matches = [k for k in jwks.keys if k.key_id == kid]
    if len(matches) != 1:
        print(f"no unique key for kid {kid!r}", file=sys.stderr)
        return 1
    key = matches[0]
    try:
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
