// A minimal DER reader (ITU-T X.690) and the parts of an X.509 certificate (RFC 5280 §4.1) a
// credential check needs: names, validity, the P-256 key, basicConstraints, extendedKeyUsage and
// subjectAltName, and the signature. Signatures are checked with WebCrypto. Anything that does not
// parse throws; callers turn that into "the credential is malformed".
import { concat, equal, fromUtf8, sha256, b64uEncode, utf8 } from './bytes.js';

/** One TLV at `pos`: tag, content bounds and the whole element's bounds. */
export function readTlv(buf, pos) {
  if (pos + 2 > buf.length) throw new Error('DER: truncated');
  const tag = buf[pos];
  if ((tag & 0x1f) === 0x1f) throw new Error('DER: high tag numbers are not used here');
  let len = buf[pos + 1];
  let at = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || at + n > buf.length) throw new Error('DER: bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + i];
    at += n;
  }
  if (at + len > buf.length) throw new Error('DER: truncated');
  return { tag, start: pos, contentStart: at, end: at + len, content: buf.subarray(at, at + len), whole: buf.subarray(pos, at + len) };
}

/** The children of a constructed element. */
export function children(tlv) {
  const out = [];
  let pos = 0;
  while (pos < tlv.content.length) {
    const child = readTlv(tlv.content, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

function expect(tlv, tag, what) {
  if (tlv.tag !== tag) throw new Error(`DER: ${what} has tag 0x${tlv.tag.toString(16)}`);
  return tlv;
}

export function oid(content) {
  const arcs = [];
  let value = 0n;
  for (const b of content) {
    value = (value << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) { arcs.push(value); value = 0n; }
  }
  const first = arcs.shift();
  const a = first < 40n ? 0n : first < 80n ? 1n : 2n;
  return [a, first - a * 40n, ...arcs].join('.');
}

function time(tlv) {
  const text = fromUtf8(tlv.content);
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m || (tlv.tag === 0x17) !== (m[1].length === 2)) throw new Error('DER: bad time');
  let year = Number(m[1]);
  if (m[1].length === 2) year += year >= 50 ? 1900 : 2000; // RFC 5280 §4.1.2.5.1
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
}

/** The 32-byte big-endian r||s (IEEE P1363) of a DER ECDSA-Sig-Value, as WebCrypto verifies. */
export function ecdsaDerToRaw(der) {
  const [r, s] = children(expect(readTlv(der, 0), 0x30, 'ECDSA-Sig-Value')).map((t) => expect(t, 0x02, 'r/s').content);
  const fix = (v) => {
    let x = v;
    while (x.length > 32 && x[0] === 0) x = x.subarray(1);
    if (x.length > 32) throw new Error('ECDSA: integer too long');
    return concat(new Uint8Array(32 - x.length), x);
  };
  return concat(fix(r), fix(s));
}

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
};

/** The MIMI CSI credential extended key usage (docs/protocol.md §4). */
export const CsiCredentialEku = '2.25.288259080736706205115595071695057371266';

/** Parses a DER certificate. */
export function parseCertificate(der) {
  const cert = expect(readTlv(der, 0), 0x30, 'Certificate');
  if (cert.end !== der.length) throw new Error('DER: trailing bytes');
  const [tbs, sigAlg, sigValue] = children(cert);
  expect(tbs, 0x30, 'TBSCertificate');
  expect(sigValue, 0x03, 'signatureValue');
  const fields = children(tbs);
  let i = 0;
  if (fields[i].tag === 0xa0) i++; // version
  i++; // serialNumber
  i++; // signature AlgorithmIdentifier
  const issuer = expect(fields[i++], 0x30, 'issuer');
  const [notBefore, notAfter] = children(expect(fields[i++], 0x30, 'validity')).map(time);
  const subject = expect(fields[i++], 0x30, 'subject');
  const spki = expect(fields[i++], 0x30, 'subjectPublicKeyInfo');
  const [keyAlg, keyBits] = children(spki);
  const [algOid, curveOid] = children(keyAlg);
  const isP256 = oid(algOid.content) === OID.ecPublicKey && curveOid && curveOid.tag === 0x06 && oid(curveOid.content) === OID.prime256v1;
  const point = keyBits.content.subarray(1);

  const result = {
    der, tbs: tbs.whole, issuer: issuer.whole, subject: subject.whole, notBefore, notAfter,
    spki: spki.whole, isP256: isP256 && point.length === 65 && point[0] === 4, point,
    signatureAlgorithm: oid(children(sigAlg)[0].content), signature: sigValue.content.subarray(1),
    isCa: false, ekus: [], sans: [],
  };
  for (; i < fields.length; i++) {
    if (fields[i].tag !== 0xa3) continue;
    for (const ext of children(children(fields[i])[0])) {
      const parts = children(ext);
      const id = oid(parts[0].content);
      const value = readTlv(parts[parts.length - 1].content, 0);
      if (id === OID.basicConstraints) {
        const bc = children(value);
        result.isCa = bc.length > 0 && bc[0].tag === 0x01 && bc[0].content[0] !== 0;
      } else if (id === OID.extKeyUsage) {
        result.ekus = children(value).map((t) => oid(t.content));
      } else if (id === OID.subjectAltName) {
        result.sans = children(value).map((t) => ({ tag: t.tag, value: fromUtf8(t.content) }));
      }
    }
  }
  return result;
}

/** The CSI a credential binds (its one subjectAltName), or null. */
export function credentialCsi(cert) {
  if (cert.sans.length !== 1) return null;
  const [name] = cert.sans;
  if (name.tag === 0x86 && name.value.startsWith('tel:+')) return name.value;
  if (name.tag === 0x81) {
    const at = name.value.lastIndexOf('@');
    const local = name.value.slice(0, at).replace(/%/g, '%25').replace(/\?/g, '%3F').replace(/#/g, '%23');
    return 'mailto:' + local + name.value.slice(at);
  }
  return null;
}

export async function importP256(cert) {
  if (!cert.isP256) throw new Error('not a P-256 key');
  return crypto.subtle.importKey('spki', cert.spki, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
}

/** Whether `issuer` signed `cert` (names match, ECDSA-SHA256 under the issuer's P-256 key). */
export async function issuedBy(cert, issuer) {
  if (!equal(cert.issuer, issuer.subject) || cert.signatureAlgorithm !== OID.ecdsaSha256 || !issuer.isP256) return false;
  try {
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, await importP256(issuer), ecdsaDerToRaw(cert.signature), cert.tbs);
  } catch {
    return false;
  }
}

/** RFC 7638 thumbprint of an uncompressed P-256 point (65 bytes), base64url. */
export async function pointThumbprint(point) {
  const x = b64uEncode(point.subarray(1, 33));
  const y = b64uEncode(point.subarray(33, 65));
  return b64uEncode(await sha256(utf8(`{"crv":"P-256","kty":"EC","x":"${x}","y":"${y}"}`)));
}
