// The transparency proofs of a lookup and of a label's history (docs/protocol.md §8), checked as
// the SDK's ProofVerifier and LabelMonitor check them: the signed tree head (log key), its
// consistency with the last head this browser accepted (RFC 9162 §2.1.4), the epoch's inclusion
// in the log (§2.1.3), each label's VRF proof (RFC 9381), its prefix-tree path and commitment
// opening, and that the statements returned are exactly the committed ones.
import { b64uDecode, concat, equal, sha256, uintBE, utf8 } from './bytes.js';
import { vrfVerify } from './p256.js';
import { validUntil } from './statements.js';

const MaxHeadAge = 24 * 3600 * 1000;
const MaxSkew = 5 * 60 * 1000;
const COMMITMENT_KEY = new Uint8Array([0xd8, 0x21, 0xf8, 0x79, 0x0d, 0x97, 0x70, 0x97, 0x96, 0xb4, 0xd7, 0x90, 0x33, 0x57, 0xc3, 0xf5]);

export class ProofError extends Error {
  constructor(status, reason) {
    super(reason);
    this.status = status;
  }
}

const leafHash = (data) => sha256(concat(new Uint8Array([0]), data));
const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));
const decodeAll = (list) => {
  if (!Array.isArray(list)) throw new Error('not a list');
  return list.map(b64uDecode);
};

/** RFC 9162 §2.1.3.2. */
export async function verifyInclusion(index, size, leaf, proof, root) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn < 0n || fn > sn) return false;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32 || sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        do { fn >>= 1n; sn >>= 1n; } while ((fn & 1n) === 0n && fn !== 0n);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(r, root);
}

/** RFC 9162 §2.1.4.2. */
export async function verifyConsistency(size1, size2, root1, root2, proof) {
  const s1 = BigInt(size1);
  const s2 = BigInt(size2);
  if (s1 <= 0n || s2 < s1) return false;
  if (s1 === s2) return proof.length === 0 && equal(root1, root2);
  if (proof.length === 0 || proof.some((p) => p.length !== 32)) return false;
  const path = (s1 & (s1 - 1n)) === 0n ? [root1, ...proof] : proof;
  let fn = s1 - 1n;
  let sn = s2 - 1n;
  while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        do { fn >>= 1n; sn >>= 1n; } while ((fn & 1n) === 0n && fn !== 0n);
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(fr, root1) && equal(sr, root2);
}

const bit = (key, depth) => (key[depth >> 3] >> (7 - (depth & 7))) & 1;
function commonPrefix(a, b) {
  let n = 0;
  while (n < 256 && bit(a, n) === bit(b, n)) n++;
  return n;
}

/** The prefix-tree root a proof implies for `key` (docs/protocol.md §8, "Prefix tree"), or null. */
async function impliedRoot(key, siblings, terminal, leafKey, commitment) {
  if (key.length !== 32 || siblings.length > 256 || siblings.some((s) => s.length !== 32)) return null;
  const depth = siblings.length;
  let hash;
  if (terminal === 'empty' && leafKey === null && commitment === null) {
    hash = new Uint8Array(32);
    if (depth === 0) return hash;
  } else if (terminal === 'leaf' && commitment?.length === 32) {
    hash = await sha256(concat(new Uint8Array([0]), key, commitment));
  } else if (terminal === 'other' && leafKey?.length === 32 && commitment?.length === 32 && !equal(key, leafKey) && commonPrefix(key, leafKey) >= depth) {
    hash = await sha256(concat(new Uint8Array([0]), leafKey, commitment));
  } else {
    return null;
  }
  for (let d = depth - 1; d >= 0; d--) {
    hash = bit(key, d) === 0 ? await nodeHash(hash, siblings[d]) : await nodeHash(siblings[d], hash);
  }
  return hash;
}

/** The committed value of a set of statements: SHA-256 of each, in ordinal order, concatenated. */
async function labelValue(statements) {
  const sorted = [...statements].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return concat(...await Promise.all(sorted.map((s) => sha256(utf8(s)))));
}

/** keytrans commitment: HMAC-SHA256(Kc, opening || u8(32) || searchKey || u32(version) || u32(len) || value). */
async function commit(opening, searchKey, version, statements) {
  const value = await labelValue(statements);
  const key = await crypto.subtle.importKey('raw', COMMITMENT_KEY, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const data = concat(opening, new Uint8Array([searchKey.length]), searchKey, uintBE(version, 4), uintBE(value.length, 4), value);
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, data));
}

export const labelAlpha = (csi, scope) => utf8(`mimi-discovery label v1\u0000${csi}\u0000${scope}`);

/** The DP's transparency keys from its metadata. */
export async function importKeys(transparency) {
  const vrfKey = b64uDecode(transparency.vrfKey);
  const logKey = await crypto.subtle.importKey('spki', b64uDecode(transparency.logKey), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  return { vrfKey, logKey };
}

async function headSignatureOk(head, keys) {
  try {
    const root = b64uDecode(head.root);
    const signature = b64uDecode(head.signature);
    if (root.length !== 32 || signature.length !== 64 || !Number.isSafeInteger(head.size) || head.size < 0) return null;
    const data = concat(utf8('mimi-discovery tree head v1\u0000'), uintBE(head.size, 8), uintBE(head.timestamp, 8), root);
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, keys.logKey, signature, data) ? { size: head.size, timestamp: head.timestamp, root } : null;
  } catch {
    return null;
  }
}

async function epochLeafHash(epoch, timestamp, prefixRoot) {
  return leafHash(concat(uintBE(epoch, 8), uintBE(timestamp, 8), prefixRoot));
}

/**
 * ProofVerifier.VerifyEpoch: returns the verified head `{size, timestamp, root}`; throws a
 * ProofError naming the failed check. `known` is the last head this browser accepted, or null.
 */
export async function verifyEpoch(proof, keys, known, nowMs) {
  if (!proof?.head) throw new ProofError('Missing', 'the DP sent no transparency proof');
  const head = await headSignatureOk(proof.head, keys);
  if (head === null) throw new ProofError('BadTreeHead', 'the tree head’s signature is not the DP’s log key');
  if (known) {
    const knownRoot = b64uDecode(known.root);
    if (head.size < known.size) throw new ProofError('Rollback', `the log went back from size ${known.size} to ${head.size}`);
    if (head.size === known.size && (head.timestamp !== known.timestamp || !equal(head.root, knownRoot))) {
      throw new ProofError('Fork', `two different signed tree heads for log size ${head.size}: the log is forked`);
    }
    if (head.size > known.size) {
      let ok = false;
      try {
        ok = proof.consistencyFrom === known.size && await verifyConsistency(known.size, head.size, knownRoot, head.root, decodeAll(proof.consistency));
      } catch {
        ok = false;
      }
      if (!ok) throw new ProofError('Inconsistent', `no valid consistency proof from log size ${known.size} to ${head.size}`);
    }
    if (head.timestamp < known.timestamp) throw new ProofError('TimestampRegression', 'the tree head is timed before one seen earlier');
  }
  if (head.timestamp - nowMs > MaxSkew) throw new ProofError('FutureTreeHead', 'the tree head is timed ahead of this computer’s clock: one of the two clocks is wrong');
  if (proof.epoch !== head.size) throw new ProofError('StaleEpoch', `the answer is proven at epoch ${proof.epoch}, but the log’s latest is ${head.size}`);
  if (nowMs - head.timestamp > MaxHeadAge) throw new ProofError('StaleTreeHead', 'the tree head is more than a day old');
  let included = false;
  try {
    const prefixRoot = b64uDecode(proof.prefixRoot);
    included = prefixRoot.length === 32
      && await verifyInclusion(proof.epoch - 1, head.size, await epochLeafHash(proof.epoch, proof.timestamp, prefixRoot), decodeAll(proof.inclusion), head.root);
  } catch {
    included = false;
  }
  if (!included) throw new ProofError('BadEpochInclusion', `epoch ${proof.epoch}’s prefix root is not in the signed log`);
  return head;
}

// One label of a lookup: VRF, prefix path, opening. Returns the committed statements.
async function verifyLabel(label, csi, prefixRoot, keys, epoch) {
  let searchKey = null;
  try {
    searchKey = await vrfVerify(keys.vrfKey, labelAlpha(csi, label.scope), b64uDecode(label.vrf));
  } catch {
    searchKey = null;
  }
  if (searchKey === null) throw new ProofError('BadVrf', `the VRF proof for ${csi} / ${label.scope} does not verify`);
  let path;
  try {
    path = decodeAll(label.path);
  } catch {
    throw new ProofError('BadPrefixProof', `the prefix-tree proof for ${label.scope} is malformed`);
  }
  if (label.terminal !== 'leaf') {
    let root = null;
    try {
      root = label.terminal === 'other'
        ? await impliedRoot(searchKey, path, 'other', b64uDecode(label.leafKey), b64uDecode(label.commitment))
        : label.terminal === 'empty' && label.leafKey == null && label.commitment == null ? await impliedRoot(searchKey, path, 'empty', null, null) : null;
    } catch {
      root = null;
    }
    if (root === null || !equal(root, prefixRoot)) throw new ProofError('BadPrefixProof', `the absence proof for ${label.scope} does not lead to epoch ${epoch}’s root`);
    return [];
  }
  let opening;
  try {
    opening = b64uDecode(label.opening);
  } catch {
    opening = null;
  }
  if (!Number.isInteger(label.version) || label.version < 1 || label.version > 0xffffffff || opening?.length !== 16
      || !Array.isArray(label.statements) || label.statements.some((s) => typeof s !== 'string')) {
    throw new ProofError('BadOpening', `the label ${label.scope} is present but its version, opening or statements are missing`);
  }
  const commitment = await commit(opening, searchKey, label.version, label.statements);
  const root = await impliedRoot(searchKey, path, 'leaf', null, commitment);
  if (root === null || !equal(root, prefixRoot)) throw new ProofError('BadOpening', `the statements under ${label.scope} are not the ones committed at epoch ${epoch}`);
  return label.statements;
}

/**
 * ProofVerifier.VerifyResult: the labels proven are exactly those `service` may see (any, then
 * svc:S), each verifies, and the statements returned are exactly the committed ones (less those
 * whose life ended by now). Returns a sentence; throws a ProofError.
 */
export async function verifyResult(result, csi, service, epochProof, keys, nowSeconds) {
  const scopes = service ? ['any', 'svc:' + service] : ['any'];
  const labels = result.labels;
  if (!Array.isArray(labels) || labels.length !== scopes.length || labels.some((l, i) => l?.scope !== scopes[i])) {
    throw new ProofError('WrongLabels', `expected proofs for the labels ${scopes.join(', ')}`);
  }
  const prefixRoot = b64uDecode(epochProof.prefixRoot);
  const committed = [];
  for (const label of labels) committed.push(...await verifyLabel(label, csi, prefixRoot, keys, epochProof.epoch));
  const left = [...committed];
  const returned = result.statements ?? [];
  for (const r of returned) {
    const at = left.indexOf(r);
    if (at < 0) throw new ProofError('SetMismatch', `the DP returned a statement it did not commit at epoch ${epochProof.epoch}`);
    left.splice(at, 1);
  }
  if (left.some((s) => { const until = validUntil(s); return until === null || until > nowSeconds + MaxSkew / 1000; })) {
    throw new ProofError('SetMismatch', `the DP returned ${returned.length} statement(s) but committed ${committed.length} at epoch ${epochProof.epoch}`);
  }
  return committed.length === 0 ? `nothing committed at epoch ${epochProof.epoch}` : `complete at epoch ${epochProof.epoch}`;
}

/**
 * LabelMonitor.Check, without the statement checks (the caller verifies each statement): the
 * head's signature, the VRF, each version's epoch inclusion, prefix path and opening, versions
 * 1, 2, 3… in increasing epochs. Returns `{head, versions: [{…version, problem, erased}]}`.
 */
export async function verifyHistory(history, csi, keys) {
  const head = await headSignatureOk(history.head, keys);
  if (head === null) throw new ProofError('BadTreeHead', 'the tree head’s signature is not the DP’s log key');
  let searchKey = null;
  try {
    searchKey = history.csi === csi ? await vrfVerify(keys.vrfKey, labelAlpha(csi, history.scope), b64uDecode(history.vrf)) : null;
  } catch {
    searchKey = null;
  }
  if (searchKey === null) throw new ProofError('BadVrf', `the VRF proof for ${csi} / ${history.scope} does not verify`);
  const out = [];
  let expected = 1;
  let lastEpoch = 0;
  for (const v of history.versions ?? []) {
    const erased = v.opening == null && v.statements == null;
    let problem = null;
    try {
      const prefixRoot = b64uDecode(v.prefixRoot);
      if (!(v.epoch >= 1 && v.epoch <= head.size) || !await verifyInclusion(v.epoch - 1, head.size, await epochLeafHash(v.epoch, v.timestamp, prefixRoot), decodeAll(v.inclusion), head.root)) {
        problem = `epoch ${v.epoch} is not in the signed log`;
      } else {
        const commitment = b64uDecode(v.commitment);
        const root = await impliedRoot(searchKey, decodeAll(v.path), 'leaf', null, commitment);
        if (root === null || !equal(root, prefixRoot)) {
          problem = `the label’s leaf is not in epoch ${v.epoch}’s prefix tree`;
        } else if (!erased) {
          const opening = b64uDecode(v.opening);
          if (opening.length !== 16 || !Array.isArray(v.statements) || !equal(await commit(opening, searchKey, v.version, v.statements), commitment)) {
            problem = 'the statements shown are not the ones committed';
          }
        }
      }
    } catch {
      problem = 'the proof of this version is malformed';
    }
    if (problem === null && v.version !== expected) problem = `version ${v.version} follows version ${expected - 1}: the DP hides version(s) in between`;
    if (problem === null && v.epoch <= lastEpoch) problem = `version ${v.version} is sealed at epoch ${v.epoch}, not after the previous version’s epoch ${lastEpoch}`;
    out.push({ ...v, erased, problem });
    expected = v.version + 1;
    lastEpoch = v.epoch;
  }
  return { head, versions: out };
}
