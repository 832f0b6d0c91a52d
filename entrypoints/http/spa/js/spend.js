// A spend as its owner signs it (API.md, "Spending credits"): the canonical message, signed in this browser
// with the kept key, and the body that carries it; and a receipt checked against the ledger's public key.

import { canonicalJson } from "./canonical.js";
import { verifyText } from "./keys.js";
import { parseDecimal } from "./money.js";

export const NAME = /^[A-Za-z0-9._:-]{1,64}$/; // payee and order_id
export const MEMO_LIMIT = 200;
export const MC_DIGITS = 2; // API.md: MC amounts have two decimals, and the signed message writes exactly two
const RECEIPT_FIELDS = ["spend_id", "order_id", "payee", "amount", "currency", "user_id", "at"];

export function spendMessage({ userId, payee, orderId, amount, memo, signedAt }) {
  return canonicalJson({
    type: "mcpay.spend.v1", user_id: userId, payee, order_id: orderId, amount, currency: "MC", memo, signed_at: signedAt,
  });
}

// "5" -> "5.00", "5.5" -> "5.50": the signed message carries MC with exactly two decimals; null if not an amount.
export function twoDecimals(text) {
  const value = parseDecimal(text);
  if (!value || value.scale > MC_DIGITS) return null;
  const cents = (value.units * 10n ** BigInt(MC_DIGITS - value.scale)).toString().padStart(3, "0");
  return `${cents.slice(0, -2)}.${cents.slice(-2)}`;
}

// Now, RFC 3339 UTC to the second ("2026-03-01T12:00:00Z").
export function rfc3339Now() {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

// A fresh order id the payer may keep or replace: 42 characters of the allowed alphabet.
export function newOrderId() {
  return `order-${crypto.randomUUID()}`;
}

// The POST /api/wallet/spends body for `order` ({payee, orderId, amount: "x.yy", memo}), signed now by `sign`.
export async function signedSpend(order, userId, sign) {
  const signedAt = rfc3339Now();
  const signature = await sign(spendMessage({ ...order, userId, signedAt }));
  return { amount: order.amount, payee: order.payee, order_id: order.orderId, memo: order.memo, signed_at: signedAt, signature };
}

// Whether `spend.receipt` is the ledger key's signature of what the spend says. Answers {valid, reason}.
export async function checkReceipt(spend, ledgerKey) {
  const { signed, signature, public_key: publicKey } = spend.receipt;
  if (publicKey !== ledgerKey) return { valid: false, reason: "the receipt names another key than the ledger's" };
  const differs = RECEIPT_FIELDS.find((field) => String(signed[field]) !== String(spend[field]));
  if (differs) return { valid: false, reason: `the signed ${differs} is not the spend's` };
  const valid = await verifyText(ledgerKey, canonicalJson(signed), signature);
  return { valid, reason: valid ? "" : "the signature does not verify" };
}
