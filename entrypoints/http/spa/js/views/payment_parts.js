// Pieces the return page and the bank-transfer page share.

import { ApiError } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { formatMoney } from "../money.js";
import { statusBadge } from "../status.js";

// The live status: a polite live region, so a change is read out without moving focus.
export function statusPanel() {
  const badge = h("div", { class: "status-line" });
  const text = h("p", { class: "status-text" });
  const balance = h("p", { class: "status-balance", id: "new-balance", hidden: true });
  const element = h("section", {
    class: "status-panel", id: "payment-status", role: "status", "aria-live": "polite", "aria-atomic": "true",
  }, badge, text, balance);
  return {
    element,
    show(payment, explanation) {
      element.dataset.status = payment.status;
      replaceChildren(badge, statusBadge(payment.status));
      text.textContent = explanation;
    },
    showBalance(wallet) {
      balance.hidden = false;
      balance.textContent = `Your balance is now ${formatMoney(wallet.balance, "MC")}.`;
    },
  };
}

export function showPaymentError(container, error) {
  if (error instanceof ApiError && error.status === 401) {
    window.dispatchEvent(new CustomEvent("mcpay:signed-out"));
    return;
  }
  const message = error instanceof ApiError && error.status === 404
    ? "There is no such payment for this key. It may belong to another key, or the link is wrong."
    : `The payment could not be loaded: ${error.message}`;
  replaceChildren(container,
    h("h1", { tabindex: "-1" }, "Payment not available"),
    h("p", { class: "form-error", role: "alert" }, message),
    h("p", {}, h("a", { class: "button", href: "#/" }, "Back to wallet")));
}
