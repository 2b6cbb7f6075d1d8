// What this browser keeps: each identity's key pair (a non-extractable CryptoKey, stored by
// IndexedDB as an opaque handle — its private half never exists as bytes this page can read),
// credential and last published mapping; and, in localStorage, the DP keys pinned at first use and
// the last tree head accepted.
const DB = 'mimi-discovery';
const STORE = 'identities';

function open() {
  return new Promise((resolve, reject) => {
    if (!('indexedDB' in globalThis)) { reject(new Error('This browser has no IndexedDB (a private window may disable it), so it cannot keep your key.')); return; }
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'csi' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error('This browser refused to open its storage, so it cannot keep your key.'));
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(new Error('This browser could not save your key or mapping.'));
    });
  } finally {
    db.close();
  }
}

export const listIdentities = () => run('readonly', (s) => s.getAll());
export const saveIdentity = (identity) => run('readwrite', (s) => s.put(identity));
export const deleteIdentity = (csi) => run('readwrite', (s) => s.delete(csi));

const PINS = 'mimi.pins.v1';
const HEAD = 'mimi.head.v1';

export const loadPins = () => JSON.parse(localStorage.getItem(PINS) ?? 'null');
export const savePins = (pins) => localStorage.setItem(PINS, JSON.stringify(pins));
export const loadHead = () => JSON.parse(localStorage.getItem(HEAD) ?? 'null');
export const saveHead = (head) => localStorage.setItem(HEAD, JSON.stringify(head));
export const forgetHead = () => localStorage.removeItem(HEAD);
