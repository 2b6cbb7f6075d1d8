// The recipient's page: prove control of a CSI, hold the key (non-extractable WebCrypto P-256 in
// IndexedDB), sign and publish mapping statements, look yourself up as a sender would and check
// the answer, and read the label history. Every failure ends in a sentence on the page.
import * as api from './api.js';
import { DpError } from './api.js';
import { b64Encode, b64uDecode, hex, pemCertificates, sha256 } from './bytes.js';
import { credentialCsi, issuedBy, parseCertificate, pointThumbprint } from './x509.js';
import { audienceToken, audienceValue, entriesProblem, iso, peek, signMapping, signRemoval, verifyMapping } from './statements.js';
import { importKeys, ProofError, verifyEpoch, verifyHistory, verifyResult } from './transparency.js';
import * as store from './store.js';

const $ = (id) => document.getElementById(id);
const state = { pins: null, anchors: [], keys: null, identity: null, pending: null, waitToken: 0 };
const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---------- small DOM helpers (no innerHTML: every text goes in as text) ----------

function el(tag, attributes = {}, ...content) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of content) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const show = (id, visible = true) => { $(id).hidden = !visible; };

function say(id, text) {
  const node = $(id);
  node.textContent = text ?? '';
  node.hidden = !text;
}

function progress(id, text) {
  const node = $(id);
  node.hidden = !text;
  if (text) node.querySelector('span').textContent = text;
}

// A DP refusal is its own sentence plus what to do next.
const nextSteps = {
  'code-mismatch': 'Check the code and type it again.',
  'proof-expired': 'Ask for a new code.',
  'attempts-exhausted': 'Ask for a new code.',
  'proof-used': 'Ask for a new code.',
  'proof-not-found': 'Ask for a new code.',
  'invalid-csi': 'Write a phone number with its country code (like +33 6 12 34 56 78) or an email address.',
  'rate-limited': 'Wait a while, then try again; a code already sent still works.',
  'delivery-failed': 'Try again later.',
  'channel-unavailable': 'This Discovery Provider cannot send codes to this kind of identifier.',
  'version-not-newer': 'Reload the page to see the current version, then try again.',
  'statement-removed': 'Reload the page, then publish again.',
  'credential-superseded': 'Someone who proved control more recently replaced your key: prove control again if the identifier is still yours.',
  'issuer-not-accepted': 'Prove control again to get a credential this Discovery Provider accepts.',
  'token-required': 'This Discovery Provider only answers lookups paid with tokens, which this page does not have; use the command-line tool with a token account.',
  'store-unavailable': 'Try again in a moment.',
  unreachable: '',
};

function explain(error) {
  if (error instanceof DpError) {
    const sentence = error.message.charAt(0).toUpperCase() + error.message.slice(1);
    const next = nextSteps[error.code] ?? '';
    return (/[.!?]$/.test(sentence) ? sentence : sentence + '.') + (next ? ' ' + next : '');
  }
  return `Something went wrong in this page: ${error?.message ?? error}. Reload the page and try again.`;
}

window.addEventListener('unhandledrejection', (event) => say('page-error', explain(event.reason)));
window.addEventListener('error', (event) => say('page-error', explain(event.error ?? event.message)));

// ---------- trust: the DP's CAs and transparency keys, pinned at first use ----------

async function fingerprint(bytes) {
  return hex(await sha256(bytes)).match(/.{2}/g).join(':');
}

async function describeKeys(metadata) {
  const cas = metadata.credentialCas ?? [];
  const der = cas.flatMap(pemCertificates);
  return {
    cas,
    caFingerprints: await Promise.all(der.map(fingerprint)),
    transparency: { vrfKey: metadata.transparency.vrfKey, logKey: metadata.transparency.logKey },
    logFingerprint: await fingerprint(b64uDecode(metadata.transparency.logKey)),
    vrfFingerprint: await fingerprint(b64uDecode(metadata.transparency.vrfKey)),
  };
}

const sameKeys = (a, b) => JSON.stringify([a.caFingerprints, a.logFingerprint, a.vrfFingerprint]) === JSON.stringify([b.caFingerprints, b.logFingerprint, b.vrfFingerprint]);

async function usePins(pins) {
  state.pins = pins;
  state.anchors = pins.cas.flatMap(pemCertificates).map(parseCertificate);
  state.keys = await importKeys(pins.transparency);
  const list = $('trust-list');
  list.replaceChildren();
  pins.caFingerprints.forEach((fp, i) => list.append(el('dt', { text: `Certificate authority ${i + 1}` }), el('dd', { class: 'mono', text: fp })));
  list.append(el('dt', { text: 'Log key' }), el('dd', { class: 'mono', text: pins.logFingerprint }));
  list.append(el('dt', { text: 'Label key (VRF)' }), el('dd', { class: 'mono', text: pins.vrfFingerprint }));
  $('trust-summary').textContent = `This page trusts ${pins.caFingerprints.length} certificate authorit${pins.caFingerprints.length === 1 ? 'y' : 'ies'} and the log key of ${location.host}, as it first saw them on ${new Date(pins.firstSeen).toLocaleString()}.`;
}

async function loadTrust() {
  const current = await describeKeys(await api.getMetadata());
  let pins = store.loadPins();
  if (pins === null) {
    pins = { ...current, firstSeen: Date.now() };
    store.savePins(pins);
  } else if (!sameKeys(pins, current)) {
    $('trust-alarm-text').textContent = 'The Discovery Provider now shows different keys from the ones this page pinned. If its operator did not announce a change, someone may be impersonating it: do not trust new answers until you know why. Answers are still checked against the keys pinned before.';
    show('trust-alarm');
    $('trust-accept').onclick = async () => {
      store.savePins({ ...current, firstSeen: Date.now() });
      store.forgetHead();
      show('trust-alarm', false);
      await usePins(store.loadPins());
    };
  }
  await usePins(pins);
  show('trust');
}

// ---------- register: code, key, credential ----------

function showRegister(note) {
  show('manage', false);
  show('see', false);
  show('history', false);
  show('register');
  show('csi-form');
  show('code-form', false);
  if (note) $('register-note').textContent = note;
  $('csi').focus();
}

async function requestCode(csiText) {
  say('csi-error', null);
  say('code-error', null);
  progress('register-progress', 'Creating your key and asking for a code…');
  try {
    // The private half can never leave this browser: extractable is false.
    const keyPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const jwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
    const started = await api.startProof(csiText, { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y });
    state.pending = { keyPair, csiText, ...started };
    const how = { outbox: 'to the development outbox (this Discovery Provider runs in development mode)', email: 'by email', sms: 'by text message' }[started.channel] ?? 'through ' + started.channel;
    $('code-sent').textContent = `We sent a code for ${started.csi} ${how}. It works until ${new Date(started.expiresAt).toLocaleTimeString()}.`;
    show('csi-form', false);
    show('code-form');
    $('code').value = '';
    $('code').focus();
  } catch (error) {
    say(state.pending ? 'code-error' : 'csi-error', explain(error));
  } finally {
    progress('register-progress', null);
  }
}

async function confirmCode(code) {
  say('code-error', null);
  if (!/^\s*\d{4,10}\s*$/.test(code)) {
    say('code-error', 'The code is the digits we sent you. Type them as they are.');
    return;
  }
  const pending = state.pending;
  progress('register-progress', 'Checking the code and getting your credential…');
  try {
    const issued = await api.answerProof(pending.proofId, code.trim());
    const [der] = pemCertificates(issued.credential);
    const credential = parseCertificate(der);
    // The credential must bind this key and this CSI and chain to a pinned CA, or the page will not sign with it.
    const jwk = await crypto.subtle.exportKey('jwk', pending.keyPair.publicKey);
    const thumbprint = await pointThumbprint(credential.point);
    const expected = await pointThumbprint(new Uint8Array([4, ...b64uDecode(jwk.x), ...b64uDecode(jwk.y)]));
    if (thumbprint !== expected || credentialCsi(credential) !== pending.csi || !(await anchorOf(credential))) {
      throw new Error('the credential the Discovery Provider issued is not for this key and identifier, or not from a certificate authority this page trusts');
    }
    const identity = {
      csi: pending.csi, keyPair: pending.keyPair, credential: b64Encode(der), thumbprint,
      notAfter: credential.notAfter, version: 0, audience: 'any', entries: [], mappingId: null, removed: false, createdAt: Date.now(),
    };
    await store.saveIdentity(identity);
    state.pending = null;
    showManage(identity);
    $('published').textContent = 'Your key is ready and only this browser holds it. Add the services where people can reach you.';
  } catch (error) {
    say('code-error', explain(error));
    if (error instanceof DpError && ['proof-expired', 'attempts-exhausted', 'proof-used', 'proof-not-found'].includes(error.code)) $('new-code').focus();
  } finally {
    progress('register-progress', null);
  }
}

async function anchorOf(cert) {
  for (const anchor of state.anchors) if (await issuedBy(cert, anchor)) return anchor;
  return null;
}

// ---------- manage: publish the next version after each change ----------

function showManage(identity) {
  state.identity = identity;
  show('register', false);
  show('manage');
  show('see');
  show('history');
  render();
  $('manage-title').focus();
}

function preferenceOrder(entries) {
  return [...entries].sort((a, b) => (b.tags.includes('default') - a.tags.includes('default')) || a.priority - b.priority);
}

function render() {
  const id = state.identity;
  $('identity').textContent = `${id.csi} — signed with this browser's key ${id.thumbprint.slice(0, 12)}… (credential valid until ${new Date(id.notAfter * 1000).toLocaleDateString()}).`;
  const list = $('services');
  list.replaceChildren();
  id.entries.forEach((entry, index) => {
    const name = entry.service + (entry.account ? ` (${entry.account})` : '');
    const tags = el('input', { type: 'text', id: `tags-${index}`, value: entry.tags.join(', '), autocapitalize: 'none', spellcheck: 'false' });
    const row = el('li', { class: 'service' },
      el('span', { class: 'service-name', text: name }),
      entry.endpoint ? el('span', { class: 'muted', text: entry.endpoint }) : null,
      el('span', { class: 'tag-edit' }, el('label', { for: `tags-${index}`, text: `Tags for ${entry.service}` }), tags,
        button(`Save tags for ${entry.service}`, 'Save tags', () => change((e) => { e[index] = { ...e[index], tags: splitTags(tags.value) }; return e; }))),
      el('span', { class: 'row-actions' },
        button(`Move ${entry.service} up`, 'Up', () => change((e) => swap(e, index, index - 1)), index === 0),
        button(`Move ${entry.service} down`, 'Down', () => change((e) => swap(e, index, index + 1)), index === id.entries.length - 1),
        button(`Remove ${entry.service}`, 'Remove', () => change((e) => e.filter((_, i) => i !== index)))));
    list.append(row);
  });
  show('no-services', id.entries.length === 0);
  const audience = id.audience;
  $('audience-any').checked = audience === 'any';
  $('audience-same').checked = audience === 'same-service';
  $('audience-only').checked = Array.isArray(audience);
  $('audience-services').value = Array.isArray(audience) ? audience.join(', ') : '';
  $('remove').disabled = !id.mappingId || id.removed;
}

function button(label, text, action, disabled = false) {
  const b = el('button', { type: 'button', 'aria-label': label, text });
  b.disabled = disabled;
  b.addEventListener('click', action);
  return b;
}

const splitList = (text) => text.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t.length > 0);
// Tags keep their case (matched ignoring it) and are signed in NFC, as the SDK signs them.
const splitTags = (text) => text.split(',').map((t) => t.trim().normalize('NFC')).filter((t) => t.length > 0);

function swap(entries, a, b) {
  if (b < 0 || b >= entries.length) return entries;
  [entries[a], entries[b]] = [entries[b], entries[a]];
  return entries;
}

async function change(edit, audience) {
  const entries = edit(state.identity.entries.map((e) => ({ ...e, tags: [...e.tags] })));
  await publishMapping(entries, audience ?? state.identity.audience);
}

let busy = false;

async function publishMapping(entries, audience) {
  if (busy) return;
  say('manage-error', null);
  // Order is the preference: priorities 10, 20, 30… in the order shown.
  const ordered = entries.map((e, i) => ({ ...e, priority: (i + 1) * 10 }));
  const problem = entriesProblem(ordered) ?? (Array.isArray(audience) && audience.length === 0 ? 'Name at least one service that may find you.' : null);
  if (problem) {
    say('manage-error', problem);
    return;
  }
  busy = true;
  const id = state.identity;
  try {
    const version = id.version + 1;
    const statement = await signMapping(id.keyPair.privateKey, id.credential, {
      csi: id.csi, version, issuedAt: nowSeconds(), expiresAt: Math.min(id.notAfter, nowSeconds() + 366 * 86400), supersede: $('supersede').checked, audience, entries: ordered,
    });
    const receipt = await api.publish(statement);
    // A mapping's id includes its audience: a new audience is a new mapping, so the old one is removed.
    if (id.mappingId && !id.removed && id.mappingId !== receipt.mappingId) {
      await api.remove(await signRemoval(id.keyPair.privateKey, id.credential, { csi: id.csi, issuedAt: nowSeconds(), target: id.mappingId, version: id.version }));
    }
    Object.assign(id, { version, audience, entries: ordered, mappingId: receipt.mappingId, removed: false });
    await store.saveIdentity(id);
    render();
    const what = ordered.length === 0 ? 'You are now reachable nowhere (opted out)' : `Published version ${version}: ${ordered.map((e) => e.service).join(', ')}`;
    await waitForSeal(receipt.epoch, what);
  } catch (error) {
    say('manage-error', explain(error));
  } finally {
    busy = false;
  }
}

async function removeMapping() {
  if (busy) return;
  say('manage-error', null);
  busy = true;
  const id = state.identity;
  try {
    const receipt = await api.remove(await signRemoval(id.keyPair.privateKey, id.credential, { csi: id.csi, issuedAt: nowSeconds(), target: id.mappingId, version: id.version }));
    Object.assign(id, { entries: [], removed: true });
    await store.saveIdentity(id);
    render();
    await waitForSeal(receipt.epoch, 'Your mapping is removed; lookups answer “none”');
  } catch (error) {
    say('manage-error', explain(error));
  } finally {
    busy = false;
  }
}

/** Shows progress until the log's head reaches `epoch` (the receipt's promise), then says so. */
async function waitForSeal(epoch, what) {
  const token = ++state.waitToken;
  $('published').textContent = '';
  progress('publish-status', `${what}. Waiting for epoch ${epoch} to be sealed into the public log…`);
  for (;;) {
    let head = null;
    try {
      head = await api.getHead();
    } catch (error) {
      if (!(error instanceof DpError) || error.code !== 'log-not-ready') throw error;
    }
    if (token !== state.waitToken) return;
    if (head && head.size >= epoch) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  progress('publish-status', null);
  $('published').textContent = `${what}. Sealed in epoch ${epoch}.`;
}

// ---------- see it as others do ----------

const statusWords = {
  found: 'finds you', 'opted-out': 'learns you chose to be reachable nowhere', none: 'finds nothing', invalid: 'is refused', referral: 'is referred to another provider',
};

async function lookupSelf(service) {
  const out = $('lookup-result');
  out.replaceChildren();
  service = service.trim().toLowerCase();
  if (service && !/^[a-z0-9._-]{1,64}$/.test(service)) {
    out.append(el('p', { class: 'alert', role: 'alert', text: 'A service is 1–64 lower-case letters, digits, “.”, “-” or “_” (like wire).' }));
    return;
  }
  progress('lookup-progress', 'Asking and checking the answer…');
  try {
    const id = state.identity;
    const known = store.loadHead();
    const answer = await api.lookup(id.csi, service || undefined, known?.size);
    const now = nowSeconds();
    const checks = [];
    const problems = [];
    let head = null;
    try {
      head = await verifyEpoch(answer.transparency, state.keys, known, Date.now());
      store.saveHead({ size: head.size, timestamp: head.timestamp, root: answer.transparency.head.root });
      checks.push(`The log head is signed by the pinned log key (log size ${head.size}) and epoch ${answer.transparency.epoch} is in the log.`);
    } catch (error) {
      if (!(error instanceof ProofError)) throw error;
      problems.push(`Transparency: ${error.message} (${error.status}).`);
    }
    const result = answer.results?.[0];
    if (!result || result.csi !== id.csi) {
      problems.push('The answer is not about the identifier asked for.');
    }
    const verified = [];
    for (const jws of result?.statements ?? []) {
      const v = await verifyMapping(jws, state.anchors, now);
      if (v.ok) verified.push(v);
      else problems.push(`A statement did not verify: ${v.reason} (${v.status}).`);
    }
    if (head && result) {
      try {
        checks.push(`The private label proof, the tree path and the opening check out: the set is ${await verifyResult(result, id.csi, service || null, answer.transparency, state.keys, now)}.`);
      } catch (error) {
        if (!(error instanceof ProofError)) throw error;
        problems.push(`Transparency: ${error.message} (${error.status}).`);
      }
    }
    const outcome = verified.some((v) => v.payload.entries.length > 0) ? 'found' : verified.length > 0 ? 'opted-out' : 'none';
    if (result && problems.length === 0 && result.result !== outcome) problems.push(`The DP says “${result.result}”, but the statements it sent mean “${outcome}”.`);
    renderLookup(out, service, result, verified, checks, problems);
  } catch (error) {
    out.append(el('p', { class: 'alert', role: 'alert', text: explain(error) }));
  } finally {
    progress('lookup-progress', null);
  }
}

function renderLookup(out, service, result, verified, checks, problems) {
  const who = service ? `Someone on ${service}` : 'Someone on any service';
  if (problems.length > 0) {
    out.append(el('div', { class: 'alarm', role: 'alert' },
      el('p', { class: 'strong', text: 'This answer did not verify. Someone changed it on the way, or the Discovery Provider is misbehaving: do not trust it.' }),
      el('ul', {}, ...problems.map((p) => el('li', { text: p })))));
    return;
  }
  out.append(el('p', { class: 'ok', text: `${who} ${statusWords[result.result] ?? result.result}. Everything below was checked in this browser.` }));
  for (const v of verified) {
    const mine = v.thumbprint === state.identity.thumbprint;
    const entries = preferenceOrder(v.payload.entries);
    out.append(el('div', { class: mine ? 'card' : 'card alarm' },
      el('p', { class: 'strong', text: mine ? `Version ${v.payload.ver}, signed by this browser` : `Version ${v.payload.ver}, signed by ANOTHER key (${v.thumbprint.slice(0, 12)}…)` }),
      entries.length === 0 ? el('p', { text: 'Reachable nowhere (opted out).' })
        : el('ol', {}, ...entries.map((e) => el('li', { text: `${e.service}${e.account ? ' — ' + e.account : ''}${e.tags.length ? ' [' + e.tags.join(', ') + ']' : ''}` }))),
      el('p', { class: 'muted', text: `Audience: ${audienceToken(v.payload.audience)}. Signature and credential (for ${v.csi}, from the pinned certificate authority) verified; valid until ${iso(Math.min(v.payload.exp, v.credential.notAfter))}.${v.unknownMembers.length ? ' Fields this page does not know: ' + v.unknownMembers.join(', ') + '.' : ''}` })));
  }
  out.append(el('ul', { class: 'checks' }, ...checks.map((c) => el('li', { text: c }))));
}

// ---------- history ----------

function historyScopes(identity) {
  const scopes = new Set(['any']);
  if (Array.isArray(identity.audience)) identity.audience.forEach((s) => scopes.add('svc:' + s));
  if (identity.audience === 'same-service') identity.entries.forEach((e) => scopes.add('svc:' + e.service));
  return [...scopes];
}

async function showHistory() {
  const out = $('history-result');
  out.replaceChildren();
  progress('history-progress', 'Reading and checking the log…');
  try {
    const id = state.identity;
    const alarms = [];
    const tables = [];
    for (const scope of historyScopes(id)) {
      const history = await api.history(id.csi, scope);
      let checked;
      try {
        checked = await verifyHistory(history, id.csi, state.keys);
      } catch (error) {
        if (!(error instanceof ProofError)) throw error;
        alarms.push(`The history of “${scope}” did not verify: ${error.message}.`);
        continue;
      }
      const rows = [];
      for (const v of checked.versions) {
        const sealed = new Date(v.timestamp).toLocaleString();
        let what;
        let signer;
        let alarm = v.problem;
        if (v.erased) {
          what = 'Erased after a removal (content deleted, commitment kept)';
          signer = '—';
        } else if ((v.statements ?? []).length === 0) {
          what = 'Nothing (removed)';
          signer = '—';
        } else {
          const parts = [];
          const signers = [];
          for (const jws of v.statements) {
            const ok = await verifyMapping(jws, state.anchors, Math.floor(v.timestamp / 1000));
            const seen = ok.ok ? ok : await peek(jws);
            const entries = seen?.payload?.entries ?? [];
            parts.push(`v${seen?.payload?.ver ?? '?'}: ${entries.length ? entries.map((e) => e.service).join(', ') : 'reachable nowhere'}`);
            if (!ok.ok) alarm = alarm ?? `a statement does not verify: ${ok.reason}`;
            if (seen?.thumbprint === id.thumbprint) signers.push('this browser');
            else {
              signers.push(`another key (${seen?.thumbprint?.slice(0, 12) ?? 'unknown'}…)`);
              alarm = alarm ?? `signed by a key that is not this browser's (${seen?.thumbprint ?? 'unknown'})`;
            }
          }
          what = parts.join('; ');
          signer = signers.join(', ');
        }
        if (alarm) alarms.push(`${scope}, version ${v.version} (epoch ${v.epoch}): ${alarm}.`);
        rows.push(el('tr', alarm ? { class: 'alarm-row' } : {},
          el('td', { text: String(v.version) }), el('td', { text: String(v.epoch) }), el('td', { text: sealed }),
          el('td', { text: what }), el('td', { text: alarm ? `${signer} ⚠` : signer })));
      }
      tables.push(el('table', {},
        el('caption', { text: `Label “${scope}”: ${checked.versions.length} version(s), proven under the log head of size ${checked.head.size}` }),
        el('thead', {}, el('tr', {}, ...['Version', 'Epoch', 'Sealed', 'What it said', 'Signed by'].map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, ...rows)));
    }
    if (alarms.length > 0) {
      out.append(el('div', { class: 'alarm', role: 'alert' },
        el('p', { class: 'strong', text: 'Warning: something in your history was not signed by this browser or does not check out. If you did not publish it from another device, someone else may be claiming your identifier: prove control again and replace it, and tell the Discovery Provider’s operator.' }),
        el('ul', {}, ...alarms.map((a) => el('li', { text: a })))));
    } else {
      out.append(el('p', { class: 'ok', text: 'Every version was signed by this browser, and each is proven in the signed log.' }));
    }
    out.append(...tables.map((t) => el('div', { class: 'table-wrap' }, t)));
  } catch (error) {
    out.append(el('p', { class: 'alert', role: 'alert', text: explain(error) }));
  } finally {
    progress('history-progress', null);
  }
}

// ---------- start ----------

function wire() {
  $('csi-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('csi').value.trim();
    if (!text) { say('csi-error', 'Enter your phone number or email address.'); return; }
    requestCode(text);
  });
  $('code-form').addEventListener('submit', (e) => { e.preventDefault(); confirmCode($('code').value); });
  $('new-code').addEventListener('click', () => requestCode(state.pending?.csiText ?? $('csi').value));
  $('other-csi').addEventListener('click', () => { state.pending = null; showRegister(); });
  $('add-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const service = $('add-service').value.trim().toLowerCase();
    if (!service) { say('manage-error', 'Name the service to add, like wire.'); return; }
    const entry = { service, tags: splitTags($('add-tags').value), priority: 0 };
    const account = $('add-account').value.trim();
    const endpoint = $('add-endpoint').value.trim();
    if (account) entry.account = account;
    if (endpoint) entry.endpoint = endpoint;
    change((entries) => [...entries, entry]).then(() => {
      if (!$('manage-error').hidden) return;
      for (const f of ['add-service', 'add-account', 'add-tags', 'add-endpoint']) $(f).value = '';
    });
  });
  $('audience-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const kind = document.querySelector('input[name="audience"]:checked')?.value ?? 'any';
    const audience = audienceValue({ kind, services: splitList($('audience-services').value) });
    change((entries) => entries, audience);
  });
  $('opt-out').addEventListener('click', () => change(() => []));
  $('remove').addEventListener('click', removeMapping);
  $('forget').addEventListener('click', async () => {
    await store.deleteIdentity(state.identity.csi);
    state.identity = null;
    showRegister('This browser no longer holds that key. Your mapping stays published until you replace or remove it from a browser that proves control again.');
  });
  $('lookup-form').addEventListener('submit', (e) => { e.preventDefault(); lookupSelf($('lookup-service').value); });
  $('history-button').addEventListener('click', showHistory);
}

async function start() {
  wire();
  try {
    await loadTrust();
    const identities = await store.listIdentities();
    if (identities.length > 0) {
      showManage(identities.sort((a, b) => b.createdAt - a.createdAt)[0]);
    } else {
      showRegister();
    }
  } catch (error) {
    say('page-error', explain(error));
  } finally {
    show('loading', false);
  }
}

start();
