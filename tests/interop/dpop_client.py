"""A DPoP (RFC 9449) client of a `gatepass serve --dpop ...` server, in Python with PyJWT
and cryptography: nothing of gatepass is used to make its proofs.

    dpop_client.py flow BASE_URL USERNAME PASSWORD KEY_FILE
        Log in with a proof, call GET /api/me with `Authorization: DPoP` and a fresh
        proof, refresh with a proof by the same key, call /api/me again. Prints one JSON
        object: each step's status and body.

    dpop_client.py proofs < {"keys": DIR, "proofs": [{...}, ...]}
        Print a JSON list of proofs. Each spec: "key" (a name; its P-256 key is kept in
        DIR/NAME.pem, made on first use), "htm", "htu", and optionally "token" (sets
        "ath"), "iat", "jti", "no_ath" (omit ath), "variant": "hmac" (an HS256 "proof")
        or "private_jwk" (the private key in the header's jwk).
"""

import base64
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm


def load_key(path):
    if os.path.exists(path):
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    with open(path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return key


def jwk_of(key, private=False):
    members = json.loads(ECAlgorithm.to_jwk(key if private else key.public_key()))
    names = ("kty", "crv", "x", "y", "d") if private else ("kty", "crv", "x", "y")
    return {name: members[name] for name in names}


def ath(token):
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def proof(key, htm, htu, token=None, iat=None, jti=None, no_ath=False, variant=None):
    claims = {
        "jti": jti or str(uuid.uuid4()),
        "htm": htm,
        "htu": htu,
        "iat": int(time.time()) if iat is None else iat,
    }
    if token is not None and not no_ath:
        claims["ath"] = ath(token)
    header = {"typ": "dpop+jwt", "jwk": jwk_of(key)}
    if variant == "hmac":
        return jwt.encode(claims, "a shared secret of thirty-two bytes!", algorithm="HS256", headers=header)
    if variant == "private_jwk":
        header["jwk"] = jwk_of(key, private=True)
    return jwt.encode(claims, key, algorithm="ES256", headers=header)


def call(method, url, headers, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        request.add_header("content-type", "application/json")
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


def flow(base, username, password, key_file):
    key = load_key(key_file)
    out = {}
    login_url = base + "/auth/login"
    status, body, _ = call(
        "POST", login_url, {"DPoP": proof(key, "POST", login_url)},
        {"username": username, "password": password},
    )
    out["login"] = {"status": status, "body": body}
    access, refresh = body["access_token"], body["refresh_token"]

    me_url = base + "/api/me"
    status, body, _ = call(
        "GET", me_url,
        {"Authorization": "DPoP " + access, "DPoP": proof(key, "GET", me_url, token=access)},
    )
    out["me"] = {"status": status, "body": body}

    refresh_url = base + "/auth/refresh"
    status, body, _ = call(
        "POST", refresh_url, {"DPoP": proof(key, "POST", refresh_url)}, {"refresh_token": refresh},
    )
    out["refresh"] = {"status": status, "body": body}
    access = body["access_token"]

    status, body, _ = call(
        "GET", me_url,
        {"Authorization": "DPoP " + access, "DPoP": proof(key, "GET", me_url, token=access)},
    )
    out["me_after_refresh"] = {"status": status, "body": body}
    print(json.dumps(out))


def proofs(spec):
    out = []
    for p in spec["proofs"]:
        key = load_key(os.path.join(spec["keys"], p["key"] + ".pem"))
        out.append(
            proof(
                key, p["htm"], p["htu"], token=p.get("token"), iat=p.get("iat"),
                jti=p.get("jti"), no_ath=p.get("no_ath", False), variant=p.get("variant"),
            )
        )
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "flow":
        flow(*sys.argv[2:6])
    else:
        proofs(json.load(sys.stdin))
