// Where the browser keeps things: the key (a CryptoKey) in IndexedDB, the session token for this tab
// in sessionStorage.

const DATABASE = "mcpay";
const KEYS = "keys";
const CURRENT = "current";
const SESSION = "mcpay.session";

function openDatabase() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(KEYS);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, work) {
  const database = await openDatabase();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = database.transaction(KEYS, mode);
      const request = work(transaction.objectStore(KEYS));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    database.close();
  }
}

// { privateKey: CryptoKey, publicKey: hex, signedOut: bool, createdAt } or undefined.
export function loadKey() {
  return withStore("readonly", (store) => store.get(CURRENT));
}

export function saveKey(record) {
  return withStore("readwrite", (store) => store.put(record, CURRENT));
}

export async function updateKey(changes) {
  const record = await loadKey();
  if (record) await saveKey({ ...record, ...changes });
}

export function forgetKey() {
  return withStore("readwrite", (store) => store.delete(CURRENT));
}

export function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION) ?? "null");
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(SESSION, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION);
}
