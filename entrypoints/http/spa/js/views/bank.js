// The bank-transfer page (#/bank/<id>): where to send the money and the reference to quote, with copy
// buttons, and the status live until an admin has confirmed the transfer.

import { api } from "../api.js";
import { announce, h, replaceChildren } from "../dom.js";
import { copyText } from "../clipboard.js";
import { formatMoney } from "../money.js";
import { explain } from "../status.js";
import { watchPayment } from "../watch.js";
import { showPaymentError, statusPanel } from "./payment_parts.js";

export function renderBank(container, { captures: [paymentId], signal }) {
  const panel = statusPanel();
  const instructions = h("div", {}, h("p", { class: "loading" }, "Loading the transfer details…"));
  replaceChildren(container,
    h("h1", { tabindex: "-1" }, "Bank transfer"),
    panel.element,
    instructions,
    h("div", { class: "actions" }, h("a", { class: "button", href: "#/" }, "Back to wallet")));

  let shown = false;
  const stop = watchPayment(paymentId, async (payment) => {
    if (!payment.bank_details) {
      location.replace(`#/payments/${payment.payment_id}`);
      return;
    }
    panel.show(payment, explain(payment));
    if (!shown) {
      replaceChildren(instructions, transferDetails(payment));
      shown = true;
    }
    if (payment.status === "confirmed") panel.showBalance(await api("/api/wallet"));
  }, (error) => showPaymentError(container, error));
  signal.addEventListener("abort", stop);
}

function transferDetails(payment) {
  const bank = payment.bank_details;
  const rows = [
    ["Bank", bank.bank_name],
    ["Account name", bank.account_name],
    ["Account number", bank.account_number],
    ["SWIFT / BIC", bank.swift_code],
    ["Amount", payment.amount, payment.currency],
    ["Reference", bank.reference],
  ];
  return h("section", { class: "card", "aria-labelledby": "transfer-title" },
    h("h2", { id: "transfer-title" }, "Transfer details"),
    h("p", {}, `Send exactly ${formatMoney(payment.amount, payment.currency)} to this account and quote the reference. `,
      `Once an admin finds it on the bank statement, ${formatMoney(payment.credits, "MC")} are added to your wallet.`),
    h("dl", { class: "details copyable" }, rows.map(([term, value, suffix]) => copyRow(term, value, suffix))),
    h("p", { class: "hint" }, "The reference is the only thing that links your transfer to your wallet: ",
      "put it in the transfer's description or reference field, exactly as shown."));
}

function copyRow(term, value, suffix) {
  const button = h("button", { type: "button", class: "button small", "aria-label": `Copy ${term.toLowerCase()}` }, "Copy");
  button.addEventListener("click", async () => {
    const copied = await copyText(value);
    button.textContent = copied ? "Copied" : "Copy failed";
    announce(copied ? `${term} copied` : `${term} could not be copied: select it and copy it by hand`);
    window.setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
  const shownValue = suffix ? `${value} ${suffix}` : value;
  const emphasis = term === "Reference" ? "reference" : null;
  return h("div", { class: emphasis },
    h("dt", {}, term),
    h("dd", {}, h("span", { class: "copy-value", dataset: { field: term.toLowerCase() } }, shownValue), button));
}
