// A spend's receipt: what was paid to whom, the ledger's signature of it, and "Verify receipt", which checks
// that signature here in the browser against the ledger's published key (GET /api/ledger/public-key).
// Also the receipt page (#/spends/<id>) that the wallet's spends link to.

import { api, ApiError } from "../api.js";
import { formatTime, h, replaceChildren } from "../dom.js";
import { formatMoney } from "../money.js";
import { checkReceipt } from "../spend.js";

export function receiptDetails(spend) {
  const result = h("p", { class: "verify-result", id: "receipt-verified", role: "status", "aria-live": "polite" });
  const verify = h("button", { type: "button", class: "button", id: "verify-receipt" }, "Verify receipt");
  verify.addEventListener("click", () => verifyInto(spend, verify, result));
  const rows = [
    ["Spend id", h("code", { dataset: { field: "spend_id" } }, spend.spend_id)],
    ["Payee", h("span", { dataset: { field: "payee" } }, spend.payee)],
    ["Order id", h("code", { dataset: { field: "order_id" } }, spend.order_id)],
    ["Amount", h("span", { dataset: { field: "amount" } }, formatMoney(spend.amount, spend.currency))],
    spend.memo ? ["Memo", h("span", { dataset: { field: "memo" } }, spend.memo)] : null,
    ["Paid at", h("time", { datetime: spend.at, dataset: { field: "at" } }, formatTime(spend.at))],
    ["Balance after", h("span", { dataset: { field: "balance_after" } }, formatMoney(spend.balance_after, "MC"))],
    ["Receipt signature", h("code", { class: "long", dataset: { field: "signature" } }, spend.receipt.signature)],
    ["Signed by", h("code", { class: "long", dataset: { field: "public_key" } }, spend.receipt.public_key)],
  ];
  return h("section", { class: "receipt", id: "receipt", "aria-labelledby": "receipt-title" },
    h("h2", { id: "receipt-title" }, "Receipt"),
    h("dl", { class: "details" }, rows.filter(Boolean).map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value)))),
    h("p", { class: "hint" }, "The payee can check this receipt with the ledger's public key alone, without asking mcpay."),
    h("div", { class: "actions" }, verify), result);
}

async function verifyInto(spend, button, result) {
  button.disabled = true;
  result.className = "verify-result";
  result.textContent = "Checking the signature…";
  try {
    const { public_key: ledgerKey } = await api("/api/ledger/public-key", { signedIn: false });
    const { valid, reason } = await checkReceipt(spend, ledgerKey);
    result.classList.add(valid ? "valid" : "invalid");
    result.dataset.valid = String(valid);
    result.textContent = valid
      ? `Receipt verified: the ledger's key ${ledgerKey} signed this spend.`
      : `This receipt does not verify: ${reason}.`;
  } catch (error) {
    result.classList.add("invalid");
    result.textContent = `The ledger's public key could not be fetched: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

export async function renderSpend(container, { captures: [spendId], signal }) {
  const title = h("h1", { tabindex: "-1" }, "Payment receipt");
  replaceChildren(container, title, h("p", { class: "loading" }, "Loading the receipt…"));
  try {
    const spend = await api(`/api/wallet/spends/${spendId}`);
    if (signal.aborted) return;
    title.textContent = `Paid ${formatMoney(spend.amount, spend.currency)} to ${spend.payee}`;
    replaceChildren(container, title, receiptDetails(spend), h("p", {}, h("a", { class: "button", href: "#/" }, "Back to wallet")));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    replaceChildren(container, h("h1", { tabindex: "-1" }, "Receipt not available"),
      h("p", { class: "form-error", role: "alert" }, "There is no such spend for this key. It may belong to another key, or the link is wrong."),
      h("p", {}, h("a", { class: "button", href: "#/" }, "Back to wallet")));
  }
}
