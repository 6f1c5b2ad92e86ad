// Node jose side of tests/interop/jwt_jose.sh.
//
//   node jwt_jose.mjs verify ALG ISS AUD JWKS_FILE KEY_FILE   token on stdin
//   node jwt_jose.mjs sign   ALG ISS AUD KEY_FILE SUB         prints a token
//
// verify: jwtVerify with createLocalJWKSet over our JWKS (EdDSA, ES256) or
// the shared secret from the key file (HS256), checking issuer, audience,
// typ and the presence of the claims we always issue; exit 0 valid, 1 not.
// sign: the private key comes from our key file, which is a private JWK
// plus "status" and "created"; those two are dropped before importJWK.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';

const [mode, alg, iss, aud, file, extra] = process.argv.slice(2);

function keyFileJwk(path) {
  const k = JSON.parse(readFileSync(path, 'utf8'));
  delete k.status;
  delete k.created;
  return k;
}

if (mode === 'verify') {
  const token = readFileSync(0, 'utf8').trim();
  const key = alg === 'HS256'
    ? Buffer.from(keyFileJwk(extra).k, 'base64url')
    : jose.createLocalJWKSet(JSON.parse(readFileSync(file, 'utf8')));
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(token, key, {
      issuer: iss,
      audience: aud,
      algorithms: [alg],
      typ: 'at+jwt',
      requiredClaims: ['sub', 'jti', 'iat', 'nbf', 'exp'],
    });
    console.log(JSON.stringify({ ok: true, protectedHeader, payload }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, code: e.code, message: e.message }));
    process.exit(1);
  }
} else if (mode === 'sign') {
  const jwk = keyFileJwk(file);
  const key = await jose.importJWK(jwk, alg);
  const now = Math.floor(Date.now() / 1000);
  const token = await new jose.SignJWT({ sub: extra, jti: randomUUID() })
    .setProtectedHeader({ alg, kid: jwk.kid, typ: 'at+jwt' })
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 600)
    .sign(key);
  console.log(token);
} else {
  console.error('usage: jwt_jose.mjs verify|sign ...');
  process.exit(2);
}
