// Mapping and removal statements (docs/protocol.md §2, §3): compact JWS, ES256, x5c. Signing
// happens here with the browser's non-extractable key; verification mirrors the SDK's
// StatementVerifier (§5): structure and canonical base64url, header allow-list, credential shape,
// signature, content, credential validity and chain to the CAs this page trusts, CSI binding, times.
import { b64Decode, b64uDecode, b64uEncode, bytesToBigInt, concat, fromUtf8, uintBE, utf8 } from './bytes.js';
import { CsiCredentialEku, credentialCsi, importP256, issuedBy, parseCertificate, pointThumbprint } from './x509.js';
import { N } from './p256.js';

export const MappingType = 'mimi-mapping+jws';
export const RemovalType = 'mimi-removal+jws';
const MaxStatementLength = 16 * 1024;
const ClockSkew = 300;
const SERVICE_ID = /^[a-z0-9._-]{1,64}$/;
// Preference tags as PreferenceTags.Validate checks them (docs/protocol.md, "Tags"): NFC, 1–64
// characters and ≤ 128 UTF-8 bytes, no control, format, private-use, unassigned or separator
// character, no white space at either end, the reserved "default" in lower case.
const TAG_FORBIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;

/** Why `tag` cannot be signed, as a sentence fragment, or null. */
export function tagProblem(tag) {
  if (tag.length === 0) return 'a tag is empty';
  if (TAG_FORBIDDEN.test(tag)) return 'it holds a control, format, private-use, unassigned or separator character';
  if ([...tag].length > 64 || new TextEncoder().encode(tag).length > 128) return 'a tag is at most 64 characters and 128 UTF-8 bytes';
  if (tag.trim() !== tag) return 'a tag may not start or end with white space';
  if (tag.normalize('NFC') !== tag) return 'a tag must be in Unicode normalization form C';
  if (tag.toLowerCase() === 'default' && tag !== 'default') return 'the reserved tag is written “default”, in lower case';
  return null;
}

/** ECDSA signatures are malleable; the protocol's one form is S ≤ n/2 (docs/protocol.md §2, "Signature form"). */
export function lowS(raw) {
  const s = bytesToBigInt(raw.subarray(32));
  return s > N / 2n ? concat(raw.subarray(0, 32), uintBE(N - s, 32)) : raw;
}

async function sign(privateKey, header, payload) {
  const input = b64uEncode(utf8(JSON.stringify(header))) + '.' + b64uEncode(utf8(JSON.stringify(payload)));
  const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, utf8(input)));
  return input + '.' + b64uEncode(lowS(raw));
}

/** Validates entries as MspEntry.Validate and PayloadCodec.ValidateEntries do; returns a sentence or null. */
export function entriesProblem(entries) {
  if (entries.length > 32) return 'A mapping holds at most 32 services.';
  for (const e of entries) {
    if (!SERVICE_ID.test(e.service)) return `“${e.service}” is not a service id: use 1–64 lower-case letters, digits, “.”, “-” or “_” (like wire or matrix.org).`;
    if (e.account !== undefined && (e.account.length < 1 || e.account.length > 256 || /[\u0000-\u001f\u007f-\u009f]/.test(e.account))) return `The account for ${e.service} must be 1–256 characters.`;
    if (e.endpoint !== undefined) {
      try { new URL(e.endpoint); } catch { return `The address for ${e.service} must be a full URL, like https://chat.example/.`; }
    }
    if (e.tags.length > 16 || new Set(e.tags).size !== e.tags.length) return `${e.service} may carry at most 16 different tags.`;
    const bad = e.tags.find((t) => tagProblem(t) !== null);
    if (bad !== undefined) return `The tag “${bad}” is not allowed: ${tagProblem(bad)}.`;
  }
  if (entries.filter((e) => e.tags.includes('default')).length > 1) return 'Only one service can be your default.';
  const pairs = new Set(entries.map((e) => e.service + '\u0000' + (e.account ?? '')));
  if (pairs.size !== entries.length) return 'The same service and account appear twice.';
  return null;
}

/** The audience as signed: "any", "same-service" or a sorted, distinct array of service ids. */
export function audienceValue(audience) {
  if (audience.kind === 'only') return [...new Set(audience.services)].sort();
  return audience.kind === 'same-service' ? 'same-service' : 'any';
}

/** The audience token of a mapping id: any, same-service or only:a+b. */
export function audienceToken(value) {
  return Array.isArray(value) ? 'only:' + value.join('+') : value;
}

/** Signs a mapping statement (payload members and order as the SDK's StatementSigner writes them). */
export function signMapping(privateKey, credentialB64, { csi, version, issuedAt, expiresAt, supersede, audience, entries }) {
  const payload = {
    csi, ver: version, iat: issuedAt, exp: expiresAt, supersede: !!supersede, audience,
    entries: entries.map((e) => {
      const out = { service: e.service };
      if (e.endpoint !== undefined) out.endpoint = e.endpoint;
      if (e.account !== undefined) out.account = e.account;
      out.priority = e.priority;
      out.tags = e.tags;
      return out;
    }),
  };
  return sign(privateKey, { alg: 'ES256', x5c: [credentialB64], typ: MappingType }, payload);
}

/** Signs an owner removal of `target` (a mapping id) up to `version`. */
export function signRemoval(privateKey, credentialB64, { csi, issuedAt, target, version }) {
  return sign(privateKey, { alg: 'ES256', x5c: [credentialB64], typ: RemovalType }, { csi, iat: issuedAt, target, ver: version, supersede: false });
}

/**
 * Checks that `cert` (parsed) chains to one of `anchors` (parsed CA certificates) through
 * `intermediates`, each certificate valid at `now` (seconds). Returns the anchor or null.
 */
export async function chainToAnchor(cert, intermediates, anchors, now) {
  let current = cert;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    for (const anchor of anchors) {
      if (anchor.isCa && now >= anchor.notBefore && now <= anchor.notAfter && await issuedBy(current, anchor)) return anchor;
    }
    let next = null;
    for (const candidate of intermediates) {
      if (candidate.isCa && now >= candidate.notBefore && now <= candidate.notAfter && await issuedBy(current, candidate)) { next = candidate; break; }
    }
    if (next === null) return null;
    current = next;
  }
  return null;
}

const fail = (status, reason) => ({ ok: false, status, reason });

/**
 * Verifies a mapping statement against `anchors` at `now` (Unix seconds). Returns
 * `{ok: true, payload, credential, csi, thumbprint, anchor}` or `{ok: false, status, reason}`,
 * the status named as the SDK's VerificationStatus. Unknown entry members are kept, not refused,
 * so a newer DP's statements still show (they are reported in `unknownMembers`).
 */
export async function verifyMapping(jws, anchors, now) {
  if (typeof jws !== 'string' || jws.length === 0) return fail('Malformed', 'the statement is empty');
  if (jws.length > MaxStatementLength) return fail('TooLarge', `the statement is ${jws.length} characters long`);
  const parts = jws.split('.');
  let header;
  let payloadBytes;
  let signature;
  try {
    if (parts.length !== 3 || parts.some((p) => p.length === 0)) throw new Error();
    header = JSON.parse(fromUtf8(b64uDecode(parts[0])));
    payloadBytes = b64uDecode(parts[1]);
    signature = b64uDecode(parts[2]);
  } catch {
    return fail('Malformed', 'a compact JWS is three canonical base64url parts separated by dots');
  }
  if (typeof header !== 'object' || header === null || Object.keys(header).some((k) => !['alg', 'typ', 'x5c', 'jwk', 'crit'].includes(k))) {
    return fail('Malformed', 'the protected header is not of the expected form');
  }
  if (header.alg !== 'ES256') return fail('UnsupportedAlgorithm', `algorithm “${String(header.alg)}” is not accepted; statements are signed with ES256`);
  if (header.crit !== undefined) return fail('UnsupportedCriticalHeader', 'the header marks extensions critical (crit), and none is understood');
  if (header.typ !== MappingType) return fail('WrongType', `typ is “${String(header.typ)}”, expected “${MappingType}”`);
  if (!Array.isArray(header.x5c)) return fail('MissingCredential', 'a mapping statement must carry its credential in the x5c header');
  if (header.x5c.length < 1 || header.x5c.length > 4) return fail('MalformedCredential', 'x5c must hold 1–4 certificates');

  let certs;
  try {
    certs = header.x5c.map((c) => parseCertificate(b64Decode(c)));
  } catch {
    return fail('MalformedCredential', 'x5c holds something that is not a DER certificate');
  }
  const [credential, ...intermediates] = certs;
  const csi = credentialCsi(credential);
  if (credential.isCa || !credential.ekus.includes(CsiCredentialEku) || !credential.isP256 || csi === null) {
    return fail('NotACredential', 'the certificate is not a MIMI CSI credential (P-256 key, CSI key usage, one CSI)');
  }

  let signed = false;
  try {
    signed = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, await importP256(credential), signature, utf8(parts[0] + '.' + parts[1]));
  } catch {
    signed = false;
  }
  if (!signed || signature.length !== 64) return fail('BadSignature', 'the signature does not verify under the credential’s key');

  let payload;
  try {
    payload = JSON.parse(fromUtf8(payloadBytes));
  } catch {
    return fail('Malformed', 'the payload is not JSON');
  }
  const shape = payload !== null && typeof payload === 'object' && typeof payload.csi === 'string' && Number.isInteger(payload.ver) && payload.ver >= 1
    && Number.isInteger(payload.iat) && Number.isInteger(payload.exp) && payload.exp > payload.iat && typeof payload.supersede === 'boolean'
    && Array.isArray(payload.entries) && payload.entries.length <= 32
    && payload.entries.every((e) => e && typeof e.service === 'string' && Number.isInteger(e.priority) && Array.isArray(e.tags))
    && (payload.audience === 'any' || payload.audience === 'same-service' || (Array.isArray(payload.audience) && payload.audience.every((s) => SERVICE_ID.test(s))));
  if (!shape) return fail('InvalidContent', 'the payload is not a mapping statement of the expected shape');
  const known = ['service', 'endpoint', 'account', 'priority', 'tags', 'pv'];
  const unknownMembers = [...new Set(payload.entries.flatMap((e) => Object.keys(e).filter((k) => !known.includes(k))))];

  if (now < credential.notBefore) return fail('CredentialNotYetValid', `the credential is valid from ${iso(credential.notBefore)}`);
  if (now > credential.notAfter) return fail('CredentialExpired', `the credential expired at ${iso(credential.notAfter)}`);
  const anchor = await chainToAnchor(credential, intermediates, anchors, now);
  if (anchor === null) return fail('UntrustedIssuer', 'the credential does not chain to a CA this page trusts');
  if (payload.csi !== csi) return fail('CsiMismatch', `the statement maps ${payload.csi} but its credential binds ${csi}`);
  if (payload.iat > now + ClockSkew) return fail('NotYetValid', `the statement claims to be issued in the future (${iso(payload.iat)})`);
  if (payload.iat < credential.notBefore - ClockSkew || payload.iat > credential.notAfter) return fail('NotYetValid', 'the statement was issued outside its credential’s validity');
  if (payload.exp > credential.notAfter) return fail('OutlivesCredential', 'the statement expires after its credential does');
  if (payload.exp <= now) return fail('Expired', `the statement expired at ${iso(payload.exp)}`);

  const thumbprint = await pointThumbprint(credential.point);
  return { ok: true, payload, credential, csi, anchor, unknownMembers, thumbprint, mappingId: thumbprint + '/' + audienceToken(payload.audience) };
}

/** When a committed statement stops being served: the earlier of its exp and its credential's notAfter (StatementLifetime). */
export function validUntil(jws) {
  try {
    const [h, p] = jws.split('.');
    const header = JSON.parse(fromUtf8(b64uDecode(h)));
    const payload = JSON.parse(fromUtf8(b64uDecode(p)));
    const cert = parseCertificate(b64Decode(header.x5c[0]));
    return Math.min(payload.exp, cert.notAfter);
  } catch {
    return null;
  }
}

/** The signer's key thumbprint and payload of a statement, without verifying it (for display of what failed). */
export async function peek(jws) {
  try {
    const [h, p] = jws.split('.');
    const header = JSON.parse(fromUtf8(b64uDecode(h)));
    const cert = parseCertificate(b64Decode(header.x5c[0]));
    return { payload: JSON.parse(fromUtf8(b64uDecode(p))), thumbprint: await pointThumbprint(cert.point) };
  } catch {
    return null;
  }
}

export const iso = (seconds) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
