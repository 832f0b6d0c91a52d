// The return page (#/payments/<id>): where the demo checkout and Stripe send the user back. It follows
// the payment live and shows the confirmation and the new balance, or explains what went wrong.

import { api } from "../api.js";
import { formatTime, h, replaceChildren } from "../dom.js";
import { formatMoney } from "../money.js";
import { explain, gatewayName } from "../status.js";
import { watchPayment } from "../watch.js";
import { openBuyDialog } from "./buy.js";
import { showPaymentError, statusPanel } from "./payment_parts.js";

export function renderPayment(container, { captures: [paymentId], params, signal }) {
  const cancelled = params.has("cancelled") || params.get("checkout") === "cancelled";
  const panel = statusPanel();
  const details = h("dl", { class: "details" });
  const actions = h("div", { class: "actions" });
  const title = h("h1", { tabindex: "-1" }, "Payment");
  replaceChildren(container, title, panel.element, details, actions);

  const stop = watchPayment(paymentId, async (payment) => {
    title.textContent = `Payment ${payment.reference}`;
    panel.show(payment, explain(payment, { cancelled }));
    showDetails(details, payment);
    showActions(actions, payment, cancelled);
    if (payment.status === "confirmed") panel.showBalance(await api("/api/wallet"));
  }, (error) => showPaymentError(container, error));
  signal.addEventListener("abort", stop);
}

function showDetails(details, payment) {
  const rows = [
    ["Method", gatewayName(payment.gateway)],
    ["Amount", formatMoney(payment.amount, payment.currency)],
    ["Credits", formatMoney(payment.credits, "MC")],
    ["Reference", payment.reference],
    ["Started", formatTime(payment.created_at)],
    ["Last change", formatTime(payment.updated_at)],
  ];
  replaceChildren(details, rows.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))));
}

function showActions(actions, payment, cancelled) {
  const again = ["failed", "expired", "rejected"].includes(payment.status) || (cancelled && payment.status === "pending");
  const buy = h("button", { type: "button", class: "button primary" }, "Buy Credits again");
  buy.addEventListener("click", () => openBuyDialog(buy));
  const resume = payment.status === "pending" && payment.gateway !== "bank" && payment.payment_url;
  replaceChildren(actions,
    h("a", { class: "button", href: "#/" }, "Back to wallet"),
    payment.gateway === "bank" ? h("a", { class: "button", href: `#/bank/${payment.payment_id}` }, "Bank transfer details") : null,
    resume ? h("a", { class: "button", href: payment.payment_url }, cancelled ? "Return to checkout" : "Open the checkout") : null,
    again ? buy : null);
}
