// Byte helpers: base64url (RFC 4648 §5, canonical), base64, UTF-8, big-endian integers, SHA-256.
export const utf8 = (text) => new TextEncoder().encode(text);
export const fromUtf8 = (bytes) => new TextDecoder('utf-8', { fatal: true }).decode(bytes);

const B64URL = /^[A-Za-z0-9_-]*$/;

export function b64uEncode(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes unpadded base64url; throws on any other character, a bad length or unused bits set (non-canonical). */
export function b64uDecode(text) {
  if (typeof text !== 'string' || !B64URL.test(text) || text.length % 4 === 1) throw new Error('not base64url');
  const bytes = b64Decode(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  if (b64uEncode(bytes) !== text) throw new Error('not canonical base64url');
  return bytes;
}

export function b64Decode(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function b64Encode(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function equal(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** Big-endian unsigned integer of `size` bytes from a Number or BigInt. */
export function uintBE(value, size) {
  let v = BigInt(value);
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  if (v !== 0n) throw new Error('integer too large');
  return out;
}

export const bytesToBigInt = (bytes) => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** PEM → DER of every CERTIFICATE block. */
export function pemCertificates(pem) {
  const out = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  let m;
  while ((m = re.exec(pem)) !== null) out.push(b64Decode(m[1].replace(/\s+/g, '')));
  return out;
}
