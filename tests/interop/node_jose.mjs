// Node `jose` on gatepass's tokens and keys: one process, many checks.
//
// usage: node node_jose.mjs < REQUEST.json > RESPONSE.json
//
// REQUEST is {"ops": [OP, ...]}; RESPONSE is {"results": [RESULT, ...]}, one per op, in
// order. A failing op is a result with "ok": false and jose's error, never a crash. The ops:
//
//   {"op": "versions"} -> {"ok": true, "jose": "6.x.y", "node": "v20..."}
//   {"op": "verify", "token", "iss", "aud", "jwks": {"keys": [...]}}
//       -> {"ok": true, "header", "claims"} | {"ok": false, "error"}
//       Public keys go through createLocalJWKSet (kid and alg matched by jose); an HMAC
//       set's one secret through importJWK. typ must be at+jwt; iss, sub, aud, exp, iat,
//       jti are required; the algorithms allowed are the keys' own.
//   {"op": "sign", "jwk": PRIVATE_JWK | null, "header", "claims"}
//       -> {"ok": true, "token"}: importJWK + SignJWT with exactly this header; alg
//       "none" with a null jwk is jose's own UnsecuredJWT.
//   {"op": "generate", "keys": [{"alg", "with_alg": bool}], "tokens": [{"key", "header", "claims"}]}
//       -> {"ok": true, "private": [JWK...], "jwks": {"keys": [...]}, "tokens": [...]}
//       generateKeyPair / generateSecret (extractable) + exportJWK, kid = the RFC 7638
//       thumbprint (calculateJwkThumbprint); the private JWKs carry "alg", the public set
//       only when with_alg; tokens are signed with the fresh keys.
//   {"op": "thumbprint", "jwk"} -> {"ok": true, "thumbprint"}
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as jose from 'jose';

const REQUIRED = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'];

function joseVersion() {
  // jose's package.json is not exported; read it next to the resolved entry point.
  const require = createRequire(import.meta.url);
  const entry = require.resolve('jose');
  const root = entry.slice(0, entry.lastIndexOf('/node_modules/jose/') + '/node_modules/jose/'.length);
  return JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version;
}

async function verify(op) {
  const keys = op.jwks.keys;
  const options = {
    issuer: op.iss,
    audience: op.aud,
    typ: 'at+jwt',
    requiredClaims: REQUIRED,
  };
  const algorithms = keys.map((k) => k.alg).filter(Boolean);
  if (algorithms.length > 0) options.algorithms = algorithms;
  let key;
  if (keys.length > 0 && keys.every((k) => k.kty === 'oct')) {
    const { kid } = jose.decodeProtectedHeader(op.token);
    const jwk = keys.find((k) => k.kid === kid);
    if (!jwk) throw new Error(`no secret for kid ${JSON.stringify(kid)}`);
    key = await jose.importJWK(jwk, jwk.alg);
    options.algorithms = [jwk.alg];
  } else {
    key = jose.createLocalJWKSet(op.jwks);
  }
  const { protectedHeader, payload } = await jose.jwtVerify(op.token, key, options);
  return { header: protectedHeader, claims: payload };
}

async function sign(op) {
  if (op.header.alg === 'none' && op.jwk === null) {
    return { token: new jose.UnsecuredJWT(op.claims).encode() };
  }
  const key = await jose.importJWK(op.jwk, op.header.alg);
  return { token: await new jose.SignJWT(op.claims).setProtectedHeader(op.header).sign(key) };
}

async function generate(op) {
  const privates = [];
  const publics = [];
  const signing = [];
  for (const spec of op.keys) {
    let privateJwk;
    let publicJwk;
    if (spec.alg.startsWith('HS')) {
      const secret = await jose.generateSecret(spec.alg, { extractable: true });
      privateJwk = await jose.exportJWK(secret);
    } else {
      const options = { extractable: true };
      if (spec.alg.startsWith('RS') || spec.alg.startsWith('PS')) options.modulusLength = 2048;
      const pair = await jose.generateKeyPair(spec.alg, options);
      privateJwk = await jose.exportJWK(pair.privateKey);
      publicJwk = await jose.exportJWK(pair.publicKey);
    }
    const kid = await jose.calculateJwkThumbprint(privateJwk);
    privateJwk = { ...privateJwk, kid, alg: spec.alg };
    privates.push(privateJwk);
    if (publicJwk) {
      publicJwk = { ...publicJwk, kid };
      if (spec.with_alg) publicJwk.alg = spec.alg;
      publics.push(publicJwk);
    }
    signing.push(await jose.importJWK(privateJwk, spec.alg));
  }
  const tokens = [];
  for (const t of op.tokens) {
    const header = { ...t.header, kid: privates[t.key].kid, alg: privates[t.key].alg };
    tokens.push(await new jose.SignJWT(t.claims).setProtectedHeader(header).sign(signing[t.key]));
  }
  return { private: privates, jwks: { keys: publics }, tokens };
}

async function run(op) {
  switch (op.op) {
    case 'versions':
      return { jose: joseVersion(), node: process.version };
    case 'verify':
      return verify(op);
    case 'sign':
      return sign(op);
    case 'generate':
      return generate(op);
    case 'thumbprint':
      return { thumbprint: await jose.calculateJwkThumbprint(op.jwk) };
    default:
      throw new Error(`unknown op ${JSON.stringify(op.op)}`);
  }
}

const request = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const op of request.ops) {
  try {
    results.push({ ok: true, ...(await run(op)) });
  } catch (e) {
    results.push({ ok: false, error: `${e.code ?? e.name}: ${e.message}` });
  }
}
process.stdout.write(JSON.stringify({ results }));
