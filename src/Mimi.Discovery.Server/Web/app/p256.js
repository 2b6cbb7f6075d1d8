// P-256 (SEC 2 secp256r1) point arithmetic in BigInt and the verifier of RFC 9381
// ECVRF-P256-SHA256-TAI (suite 0x01): §5.3 verify, §5.4.1.1 encode-to-curve by try-and-increment,
// §5.4.3 challenge, §5.2 proof-to-hash. WebCrypto has ECDSA but no point arithmetic, which the
// VRF needs. Only public values are computed here (verification), so constant time is not needed.
import { bytesToBigInt, concat, sha256, uintBE } from './bytes.js';

export const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
export const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const G = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  z: 1n,
};
const INFINITY = { x: 0n, y: 1n, z: 0n };

const mod = (a, m = P) => { const r = a % m; return r < 0n ? r + m : r; };

function pow(base, exp, m = P) {
  let result = 1n;
  let b = mod(base, m);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

const inv = (a) => pow(a, P - 2n);

// Jacobian coordinates, a = -3 (dbl-2001-b, add-1998-cmo-2).
function double(p) {
  if (p.z === 0n || p.y === 0n) return INFINITY;
  const delta = mod(p.z * p.z);
  const gamma = mod(p.y * p.y);
  const beta = mod(p.x * gamma);
  const alpha = mod(3n * (p.x - delta) * (p.x + delta));
  const x = mod(alpha * alpha - 8n * beta);
  const z = mod((p.y + p.z) ** 2n - gamma - delta);
  const y = mod(alpha * (4n * beta - x) - 8n * gamma * gamma);
  return { x, y, z };
}

function add(p, q) {
  if (p.z === 0n) return q;
  if (q.z === 0n) return p;
  const z1z1 = mod(p.z * p.z);
  const z2z2 = mod(q.z * q.z);
  const u1 = mod(p.x * z2z2);
  const u2 = mod(q.x * z1z1);
  const s1 = mod(p.y * q.z * z2z2);
  const s2 = mod(q.y * p.z * z1z1);
  const h = mod(u2 - u1);
  const r = mod(s2 - s1);
  if (h === 0n) return r === 0n ? double(p) : INFINITY;
  const hh = mod(h * h);
  const hhh = mod(h * hh);
  const v = mod(u1 * hh);
  const x = mod(r * r - hhh - 2n * v);
  const y = mod(r * (v - x) - s1 * hhh);
  const z = mod(p.z * q.z * h);
  return { x, y, z };
}

const negate = (p) => ({ x: p.x, y: mod(-p.y), z: p.z });

function multiply(p, k) {
  let result = INFINITY;
  for (let i = BigInt(k.toString(2).length) - 1n; i >= 0n; i--) {
    result = double(result);
    if ((k >> i) & 1n) result = add(result, p);
  }
  return result;
}

function affine(p) {
  if (p.z === 0n) return null;
  const zi = inv(p.z);
  const zi2 = mod(zi * zi);
  return { x: mod(p.x * zi2), y: mod(p.y * zi2 * zi), z: 1n };
}

/** SEC 1 §2.3.4 compressed point (33 bytes) → point, or null when it is not on the curve. */
export function decompress(bytes) {
  if (bytes.length !== 33 || (bytes[0] !== 2 && bytes[0] !== 3)) return null;
  const x = bytesToBigInt(bytes.subarray(1));
  if (x >= P) return null;
  const rhs = mod(x * x * x - 3n * x + B);
  let y = pow(rhs, (P + 1n) / 4n); // p ≡ 3 (mod 4)
  if (mod(y * y) !== rhs) return null;
  if ((y & 1n) !== BigInt(bytes[0] & 1)) y = P - y;
  return { x, y, z: 1n };
}

/** SEC 1 §2.3.3 compressed encoding; null for the point at infinity. */
export function compress(p) {
  const a = affine(p);
  return a === null ? null : concat(new Uint8Array([2 | Number(a.y & 1n)]), uintBE(a.x, 32));
}

const SUITE = 0x01;

// §5.4.1.1: the first ctr for which 0x02 || SHA-256(suite || 0x01 || salt || alpha || ctr || 0x00) is a point.
async function encodeToCurve(salt, alpha) {
  for (let ctr = 0; ctr < 256; ctr++) {
    const hash = await sha256(concat(new Uint8Array([SUITE, 0x01]), salt, alpha, new Uint8Array([ctr, 0x00])));
    const point = decompress(concat(new Uint8Array([0x02]), hash));
    if (point !== null) return point;
  }
  return null;
}

/**
 * RFC 9381 §5.3 ECVRF_verify for ECVRF-P256-SHA256-TAI: returns beta (32 bytes) when `proof`
 * (81 bytes: Gamma || c || s) proves `alpha` under the compressed `publicKey`, else null.
 */
export async function vrfVerify(publicKey, alpha, proof) {
  const y = decompress(publicKey);
  if (y === null || proof.length !== 81) return null;
  const gamma = decompress(proof.subarray(0, 33));
  if (gamma === null) return null;
  const c = bytesToBigInt(proof.subarray(33, 49));
  const s = bytesToBigInt(proof.subarray(49, 81));
  if (s >= N) return null;
  const yString = compress(y);
  const h = await encodeToCurve(yString, alpha);
  if (h === null) return null;
  const u = add(multiply(G, s), negate(multiply(y, c)));
  const v = add(multiply(h, s), negate(multiply(gamma, c)));
  const points = [y, h, gamma, u, v].map(compress);
  if (points.some((p) => p === null)) return null;
  const challenge = (await sha256(concat(new Uint8Array([SUITE, 0x02]), ...points, new Uint8Array([0x00])))).subarray(0, 16);
  if (bytesToBigInt(challenge) !== c) return null;
  return sha256(concat(new Uint8Array([SUITE, 0x03]), points[2], new Uint8Array([0x00])));
}
