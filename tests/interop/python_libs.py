"""PyJWT and jwcrypto on gatepass's tokens and keys: one process, many checks.

usage: python_libs.py < REQUEST.json > RESPONSE.json

REQUEST is {"ops": [OP, ...]}; RESPONSE is {"results": [RESULT, ...]}, one per op, in
order. A failing op is a result with "ok": false and the library's error, never a crash,
so one run answers every check of a test. The ops:

  {"op": "versions"}
      -> {"ok": true, "PyJWT": "2.15.1", "jwcrypto": "1.6.1", "cryptography": "..."}
  {"op": "verify", "lib": "pyjwt"|"jwcrypto", "token": T, "iss": I, "aud": A,
   "jwks": {"keys": [...]} | "jwks_url": URL (pyjwt only)}
      -> {"ok": true, "header": {...}, "claims": {...}} | {"ok": false, "error": "..."}
      The key is the one whose kid the header names; the algorithm comes from that key
      (never from the token), typ must be at+jwt, and iss, sub, aud, exp, iat, jti are
      required: what a careful resource server does with each library.
  {"op": "sign", "lib": "pyjwt"|"jwcrypto", "jwk": PRIVATE_JWK | null,
   "header": {...}, "claims": {...}}
      -> {"ok": true, "token": T}, made with the library's JWT API (jwt.encode, jwcrypto's
      JWT.make_signed_token) and exactly this header: PyJWT's default typ is suppressed,
      and alg "none" with a null jwk is the library's own unsecured JWS.
  {"op": "generate", "lib": "jwcrypto", "keys": [{"kty", "crv"|"size", "alg"?, "kid"?}],
   "tokens": [{"key": INDEX, "header": {...}, "claims": {...}}]}
      -> {"ok": true, "jwks": PUBLIC_JWKS, "tokens": [T, ...]}: fresh keys (kid = the
      RFC 7638 thumbprint unless given), their public JWK Set as jwcrypto exports it, and
      tokens signed with them.
  {"op": "thumbprint", "lib": "jwcrypto", "jwk": JWK} -> {"ok": true, "thumbprint": ...}
"""
import json
import sys
from importlib.metadata import version

import jwt
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws
from jwcrypto import jwt as jc_jwt

REQUIRED = ["iss", "sub", "aud", "exp", "iat", "jti"]
ACCESS_TYPES = ("at+jwt", "application/at+jwt")


def check_typ(header):
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCESS_TYPES:
        raise ValueError(f"typ {typ!r} is not at+jwt")


def pyjwt_verify(op):
    token = op["token"]
    header = jwt.get_unverified_header(token)
    if "jwks_url" in op:
        key = jwt.PyJWKClient(op["jwks_url"], cache_jwk_set=False).get_signing_key_from_jwt(token)
    else:
        jwks = jwt.PyJWKSet.from_dict(op["jwks"])
        matches = [k for k in jwks.keys if k.key_id == header.get("kid")]
        if len(matches) != 1:
            raise ValueError(f"no unique key for kid {header.get('kid')!r}")
        key = matches[0]
    decoded = jwt.decode_complete(
        token,
        key=key,
        algorithms=[key.algorithm_name],
        audience=op["aud"],
        issuer=op["iss"],
        options={"require": REQUIRED},
    )
    check_typ(decoded["header"])
    return {"header": decoded["header"], "claims": decoded["payload"]}


def jwcrypto_verify(op):
    keys = jc_jwk.JWKSet()
    for entry in op["jwks"]["keys"]:
        keys.add(jc_jwk.JWK(**entry))
    # The kid from jwcrypto's own parse (not PyJWT's, whose decoding differs).
    kid = jc_jws.JWS.from_jose_token(op["token"]).jose_header.get("kid")
    key = keys.get_key(kid) if kid is not None else None
    if key is None:
        raise ValueError(f"no key for kid {kid!r}")
    alg = key.get("alg")
    if alg is None:
        raise ValueError(f"key {kid!r} names no alg")
    token = jc_jwt.JWT(
        jwt=op["token"],
        key=key,
        algs=[alg],
        expected_type="JWS",
        check_claims={"iss": op["iss"], "aud": op["aud"], "sub": None,
                      "exp": None, "iat": None, "jti": None},
    )
    header = json.loads(token.header)
    check_typ(header)
    return {"header": header, "claims": json.loads(token.claims)}


def pyjwt_sign(op):
    header = dict(op["header"])
    alg = header.pop("alg")
    if op["jwk"] is None:
        key = None
    else:
        key = jwt.PyJWK(op["jwk"], algorithm=alg).key
    # typ: None keeps PyJWT from adding its default "JWT" when the header has no typ.
    header.setdefault("typ", None)
    return {"token": jwt.encode(op["claims"], key, algorithm=alg, headers=header)}


def jwcrypto_token(key, header, claims):
    # jwcrypto's JWT API; "none" must be allowed explicitly, as jwcrypto insists.
    algs = ["none"] if header["alg"] == "none" else None
    token = jc_jwt.JWT(header=header, claims=claims, algs=algs)
    token.make_signed_token(key)
    return token.serialize()


def jwcrypto_sign(op):
    if op["jwk"] is None:
        key = jc_jwk.JWK(kty="oct", k="")  # jwcrypto's key for alg "none"
    else:
        key = jc_jwk.JWK(**op["jwk"])
    return {"token": jwcrypto_token(key, op["header"], op["claims"])}


def jwcrypto_generate(op):
    keys = []
    for spec in op["keys"]:
        params = {k: v for k, v in spec.items() if k != "kid"}
        key = jc_jwk.JWK.generate(**params)
        kid = spec.get("kid") or key.thumbprint()
        # generate() cannot take kid and alg for every key type; set them afterwards.
        key = jc_jwk.JWK(**{**json.loads(key.export_private()), "kid": kid})
        keys.append(key)
    public = jc_jwk.JWKSet()
    for key in keys:
        public.add(key)
    tokens = [
        jwcrypto_token(keys[t["key"]], {**t["header"], "kid": keys[t["key"]]["kid"]}, t["claims"])
        for t in op["tokens"]
    ]
    return {"jwks": json.loads(public.export(private_keys=False)), "tokens": tokens}


def run(op):
    kind, lib = op["op"], op.get("lib")
    if kind == "versions":
        return {name: version(name) for name in ("PyJWT", "jwcrypto", "cryptography")}
    if kind == "verify":
        return (pyjwt_verify if lib == "pyjwt" else jwcrypto_verify)(op)
    if kind == "sign":
        return (pyjwt_sign if lib == "pyjwt" else jwcrypto_sign)(op)
    if kind == "generate" and lib == "jwcrypto":
        return jwcrypto_generate(op)
    if kind == "thumbprint" and lib == "jwcrypto":
        return {"thumbprint": jc_jwk.JWK(**op["jwk"]).thumbprint()}
    raise ValueError(f"unknown op {kind!r} for {lib!r}")


def main() -> int:
    request = json.load(sys.stdin)
    results = []
    for op in request["ops"]:
        try:
            results.append({"ok": True, **run(op)})
        except Exception as e:  # every library error is an answer, not a crash
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    json.dump({"results": results}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
