// ed25519 keys through WebCrypto. The key the app keeps is non-extractable: page scripts can sign
// with it but can never read its bytes again (see docs/adr for the trade-off).

const ED25519 = { name: "Ed25519" };
// An Ed25519 PKCS#8 document is this fixed 16-byte header followed by the 32-byte private seed.
const PKCS8_HEADER = hexToBytes("302e020100300506032b657004220420");
const SEED_HEX = /^[0-9a-f]{64}$/;

export function hexToBytes(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

export function bytesToHex(bytes) {
  return Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function base64UrlToBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

export async function keysSupported() {
  if (!window.isSecureContext || !crypto.subtle) return false;
  try {
    await crypto.subtle.importKey("pkcs8", pkcs8Of(new Uint8Array(32)), ED25519, false, ["sign"]);
    return true;
  } catch {
    return false;
  }
}

function pkcs8Of(seed) {
  const der = new Uint8Array(PKCS8_HEADER.length + seed.length);
  der.set(PKCS8_HEADER);
  der.set(seed, PKCS8_HEADER.length);
  return der;
}

async function fromSeed(seed) {
  const pkcs8 = pkcs8Of(seed);
  // Briefly extractable, only to read the public half (WebCrypto cannot derive it from a locked key).
  const readable = await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, true, ["sign"]);
  const { x } = await crypto.subtle.exportKey("jwk", readable);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, false, ["sign"]);
  pkcs8.fill(0);
  return { privateKey, publicKey: bytesToHex(base64UrlToBytes(x)) };
}

// A new keypair: the locked key to keep, its public key, and the seed for a one-time backup.
export async function generateKey() {
  const pair = await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"]);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const seed = pkcs8.slice(PKCS8_HEADER.length);
  const seedHex = bytesToHex(seed);
  const key = await fromSeed(seed);
  seed.fill(0);
  pkcs8.fill(0);
  return { ...key, seedHex };
}

// The seed from a backup file, `mcpay keygen` output or pasted hex; null when there is none.
export function seedFromText(text) {
  const lines = String(text).split(/\r?\n/).filter((line) => !line.trim().startsWith("#"));
  for (const line of lines) {
    const candidate = line.trim().replace(/^private_key\s*=\s*/i, "").toLowerCase();
    if (SEED_HEX.test(candidate)) return candidate;
  }
  return null;
}

export async function importSeed(seedHex) {
  const seed = hexToBytes(seedHex);
  try {
    return await fromSeed(seed);
  } finally {
    seed.fill(0);
  }
}

export async function signText(privateKey, text) {
  const signature = await crypto.subtle.sign(ED25519, privateKey, new TextEncoder().encode(text));
  return bytesToHex(signature);
}

const SIGNATURE_HEX = /^[0-9a-f]{128}$/;
const PUBLIC_KEY_HEX = /^[0-9a-f]{64}$/;

// True when `signatureHex` is `publicKeyHex`'s ed25519 signature of the UTF-8 bytes of `text`.
export async function verifyText(publicKeyHex, text, signatureHex) {
  if (!PUBLIC_KEY_HEX.test(publicKeyHex) || !SIGNATURE_HEX.test(signatureHex)) return false;
  const key = await crypto.subtle.importKey("raw", hexToBytes(publicKeyHex), ED25519, false, ["verify"]);
  return crypto.subtle.verify(ED25519, key, hexToBytes(signatureHex), new TextEncoder().encode(text));
}

export function backupText(seedHex, publicKey) {
  return [
    "# mcpay private key: an ed25519 seed, hex. Anyone holding this file can sign in as you.",
    "# Import it on mcpay's sign-in page (Import a key), or use it with `mcpay sign --private-key`.",
    `# public key: ${publicKey}`,
    seedHex,
    "",
  ].join("\n");
}
