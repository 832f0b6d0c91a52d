// What each payment status means to the person who paid.

import { h } from "./dom.js";
import { formatMoney } from "./money.js";

const GATEWAY_NAMES = { stripe: "Card (Stripe)", clickpesa: "Mobile money (ClickPesa)", bank: "Bank transfer" };

export function gatewayName(gateway) {
  return GATEWAY_NAMES[gateway] ?? gateway;
}

const LABELS = {
  pending: "Pending",
  confirmed: "Confirmed",
  failed: "Failed",
  expired: "Expired",
  rejected: "Rejected",
  needs_review: "Under review",
  refunded: "Refunded",
  disputed: "Disputed",
};

export function statusLabel(status) {
  return LABELS[status] ?? status;
}

export function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, statusLabel(status));
}

// One or two sentences for the return and bank pages.
export function explain(payment, { cancelled = false } = {}) {
  const reason = payment.status_reason ? ` (${payment.status_reason})` : "";
  switch (payment.status) {
    case "pending":
      if (payment.gateway === "bank") return "Waiting for admin confirmation: the credits are added once an admin has matched your transfer on the bank statement.";
      if (cancelled) return "You left the checkout without paying, so nothing was charged and no credits were added. The checkout stays open until it expires; you can start a new one any time.";
      return `Waiting for ${gatewayName(payment.gateway)} to confirm the payment. This page updates by itself.`;
    case "confirmed":
      return `Payment confirmed: ${formatMoney(payment.credits, "MC")} were added to your wallet.`;
    case "failed":
      return `The payment failed${reason}. No credits were added; you can try again.`;
    case "expired":
      return `The payment expired before it was completed${reason}. No credits were added.`;
    case "rejected":
      return `An admin rejected this transfer${reason}. No credits were added.`;
    case "needs_review":
      return `The amount received differs from the payment${reason}. An admin will review it before any credits are added.`;
    case "refunded":
      return `The payment was refunded${reason}; the refunded credits were taken back from your wallet.`;
    case "disputed":
      return `The payment was disputed${reason}; its credits were taken back from your wallet while the dispute lasts.`;
    default:
      return `Status: ${payment.status}.`;
  }
}
