// Signing in with the browser's key: challenge -> signature -> session token, kept for this tab and
// renewed by signing a new challenge whenever it expires.

import { api, configureAuth } from "./api.js";
import { generateKey, importSeed, signText } from "./keys.js";
import * as store from "./store.js";

const EXPIRY_MARGIN_MS = 30_000;

let key = null; // { privateKey, publicKey, signedOut, createdAt } from IndexedDB
let session = null; // { token, expires_at, public_key }
let me = null; // { user_id, public_key, roles }
let backup = null; // { seedHex, publicKey }: a new key's seed, held in memory only until backed up
let renewing = null;

configureAuth({ token, renew });

async function token() {
  if (!key || key.signedOut) return null;
  const fresh = session && session.public_key === key.publicKey
    && Date.parse(session.expires_at) - EXPIRY_MARGIN_MS > Date.now();
  if (!fresh && !(await renew())) return null;
  return session.token;
}

function renew() {
  if (!key || key.signedOut) return Promise.resolve(false);
  renewing ??= openSession().then(() => true, () => false).finally(() => { renewing = null; });
  return renewing;
}

async function openSession() {
  const publicKey = key.publicKey;
  const body = { public_key: publicKey };
  const { challenge } = await api("/api/auth/challenge", { method: "POST", body, signedIn: false });
  const signature = await signText(key.privateKey, challenge);
  const opened = await api("/api/auth/session", {
    method: "POST", body: { public_key: publicKey, challenge, signature }, signedIn: false,
  });
  session = { token: opened.token, expires_at: opened.expires_at, public_key: publicKey };
  store.saveSession(session);
}

// Picks up where this browser left off: true when a key is kept and not signed out.
export async function restore() {
  key = (await store.loadKey()) ?? null;
  if (!key || key.signedOut) return false;
  session = store.loadSession();
  me = await api("/api/auth/me");
  return true;
}

async function signInWith(record) {
  key = { ...record, signedOut: false };
  await store.saveKey(key);
  session = null;
  await openSession();
  me = await api("/api/auth/me");
}

export async function createKey() {
  const { privateKey, publicKey, seedHex } = await generateKey();
  backup = { seedHex, publicKey };
  await signInWith({ privateKey, publicKey, createdAt: new Date().toISOString() });
}

export async function importKey(seedHex) {
  const { privateKey, publicKey } = await importSeed(seedHex);
  backup = null;
  await signInWith({ privateKey, publicKey, createdAt: new Date().toISOString() });
}

export async function signInWithSavedKey() {
  await signInWith(key);
}

export async function signOut({ forget = false } = {}) {
  const ending = session;
  session = null;
  me = null;
  backup = null;
  store.clearSession();
  if (forget) await forgetSavedKey();
  else if (key) {
    key = { ...key, signedOut: true };
    await store.updateKey({ signedOut: true });
  }
  if (!ending) return;
  try {
    const headers = { Authorization: `Bearer ${ending.token}` };
    await api("/api/auth/session", { method: "DELETE", headers, signedIn: false });
  } catch {
    // The token may have expired already: this browser has forgotten it either way.
  }
}

export async function forgetSavedKey() {
  key = null;
  backup = null;
  await store.forgetKey();
}

// Signs with the kept key (a spend, say): the key never leaves its locked CryptoKey.
export function signWithKey(text) {
  if (!key || key.signedOut) throw new Error("no key is signed in");
  return signText(key.privateKey, text);
}

export function savedKey() {
  return key;
}

export function currentUser() {
  return me;
}

export function isSignedIn() {
  return Boolean(me && key && !key.signedOut);
}

export function isAdmin() {
  return Boolean(me?.roles?.includes("admin"));
}

export function pendingBackup() {
  return backup;
}

export function dropBackup() {
  backup = null;
}
