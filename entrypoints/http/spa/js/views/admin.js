// The admin desk (#/admin): the payment queue with filters, bank transfers confirmed with the amount
// received (maker-checker), rejections, and payments under review resolved; then payee balances and debts.

import { api, ApiError } from "../api.js";
import { announce, formatTime, h, replaceChildren, shortKey } from "../dom.js";
import { formatMoney } from "../money.js";
import { loadMore } from "../more.js";
import * as session from "../session.js";
import { gatewayName, statusBadge, statusLabel } from "../status.js";
import { spendingJumps, spendingSections } from "./desk_spending.js";

const STATUSES = ["pending", "needs_review", "confirmed", "failed", "expired", "rejected", "refunded", "disputed"];
const GATEWAYS = ["bank", "stripe", "clickpesa"];

export async function renderAdmin(container, { signal }) {
  if (!session.isAdmin()) {
    replaceChildren(container, h("h1", { tabindex: "-1" }, "Admin desk"),
      h("p", { class: "form-error", role: "alert" }, "This key is not an admin's key."));
    return;
  }
  const status = select("filter-status", "Status", STATUSES, statusLabel);
  const gateway = select("filter-gateway", "Method", GATEWAYS, gatewayName);
  const from = day("filter-from", "Created from");
  const to = day("filter-to", "Created to");
  const count = h("p", { class: "hint", id: "queue-count", role: "status" });
  const queue = h("div", { class: "queue", id: "queue" });
  let latest = 0;
  const refresh = async () => {
    const query = new URLSearchParams();
    if (status.select.value) query.set("status", status.select.value);
    if (gateway.select.value) query.set("gateway", gateway.select.value);
    if (from.input.value) query.set("created_after", startOfDay(from.input.value, 0));
    if (to.input.value) query.set("created_before", startOfDay(to.input.value, 1));  // the whole day included
    const asked = ++latest;
    const path = `/api/admin/payments?${query}`;
    const { items, next_cursor: cursor } = await api(path);
    // Answers can arrive out of order: only the newest request may redraw the queue.
    if (signal.aborted || asked !== latest) return;
    let shown = items.length;
    const counted = (more) => {
      count.textContent = `${shown} payment${shown === 1 ? "" : "s"}${more ? " shown, more to load" : ""}`;
    };
    counted(cursor);
    const cards = h("div", { class: "queue-items" }, items.map((item) => paymentCard(item, refresh)));
    const more = loadMore({
      id: "more-queue", path, cursor, signal, label: "Load more payments",
      append: (page) => {
        if (asked !== latest) return;
        cards.append(...page.map((item) => paymentCard(item, refresh)));
        shown += page.length;
        counted(!more.hidden);
      },
    });
    replaceChildren(queue, items.length ? [cards, more] : h("p", { class: "empty" }, "Nothing here."));
  };
  const filters = h("form", { class: "filters", "aria-label": "Filter payments" },
    status.field, gateway.field, from.field, to.field,
    h("button", { type: "submit", class: "button" }, "Refresh"));
  filters.addEventListener("change", () => refresh());
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  replaceChildren(container,
    h("h1", { tabindex: "-1" }, "Admin desk"),
    h("p", { class: "lead" }, "Bank transfers awaiting confirmation come first, then payments under review and payments with gateway news held for an admin."),
    spendingJumps(), filters, count, queue, spendingSections(signal));
  await refresh();
}

function day(id, label) {
  const input = h("input", { id, name: id, type: "date" });
  return { input, field: h("div", { class: "field" }, h("label", { for: id }, label), input) };
}

// Local midnight of a date input's day (plus `days`), as the RFC 3339 UTC time the API takes.
function startOfDay(value, days) {
  const [year, month, date] = value.split("-").map(Number);
  return new Date(year, month - 1, date + days).toISOString();
}

function select(id, label, values, describe) {
  const element = h("select", { id, name: id },
    h("option", { value: "" }, "Any"), values.map((value) => h("option", { value }, describe(value))));
  return { select: element, field: h("div", { class: "field" }, h("label", { for: id }, label), element) };
}

function paymentCard(item, refresh) {
  const titleId = `payment-${item.payment_id}`;
  return h("article", { class: "card queue-item", dataset: { reference: item.reference }, "aria-labelledby": titleId },
    h("header", { class: "queue-head" },
      h("h2", { id: titleId }, item.reference),
      statusBadge(item.status),
      item.awaiting_admin ? h("span", { class: "badge awaiting" }, "Awaiting admin") : null,
      item.needs_attention ? h("span", { class: "badge attention" }, "Gateway news held") : null),
    h("dl", { class: "details compact" },
      pair("User", h("code", { title: item.user_id }, shortKey(item.user_id))),
      pair("Method", gatewayName(item.gateway)),
      pair("Amount", formatMoney(item.amount, item.currency)),
      pair("Credits", formatMoney(item.credits, "MC")),
      pair("Started", formatTime(item.created_at)),
      item.status_reason ? pair("Reason", item.status_reason) : null),
    approvals(item),
    heldNews(item, refresh),
    item.awaiting_admin ? actions(item, refresh) : null);
}

const NEWS = { refunded: "Refunded at the gateway", disputed: "Disputed", dispute_won: "Dispute won", paid: "Paid again" };

function heldNews(item, refresh) {
  if (!item.held.length) return null;
  const error = h("p", { class: "form-error", role: "alert" });
  const acknowledge = item.needs_attention ? acknowledgeForm(item, submitter(item, refresh, error)) : null;
  return h("section", { class: "held-news", "aria-label": "Held gateway news" },
    h("p", { class: "approvals-count" }, "Gateway news kept for an admin, not applied:"),
    h("ul", {}, item.held.map((held) => h("li", {},
      h("strong", {}, NEWS[held.news] || held.news), `: ${held.reason}`,
      h("span", { class: "optional" }, ` (${held.key}, ${formatTime(held.at)})`)))),
    acknowledge, acknowledge ? error : null);
}

function acknowledgeForm(item, run) {
  const noteId = `acknowledge-note-${item.payment_id}`;
  const note = h("input", { id: noteId, name: "note", required: true, maxlength: 500, autocomplete: "off" });
  const form = h("form", { class: "acknowledge-form", "aria-label": `Acknowledge ${item.reference}` },
    h("div", { class: "field" }, h("label", { for: noteId }, "What was done (e.g. refunded the second charge)"), note),
    h("button", { type: "submit", class: "button" }, "Acknowledge"));
  form.addEventListener("submit", run(form, "acknowledge", () => ({ note: note.value.trim() }),
    (answer) => `${answer.reference}: held news acknowledged`));
  return form;
}

function pair(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}

function approvals(item) {
  if (!item.awaiting_admin && !item.confirmations.length) return null;
  const mine = session.currentUser().public_key;
  const waitingForOthers = item.awaiting_admin && item.confirmations.some((confirmation) => confirmation.admin === mine);
  return h("section", { class: "approvals", "aria-label": "Confirmations" },
    h("p", { class: "approvals-count" },
      `Confirmations: ${item.confirmations.length} of ${item.confirmations_required} required`),
    item.awaiting_admin && item.user_id === mine ? h("p", { class: "hint own-payment" },
      "This is your own payment: another admin must confirm it. Your confirmation would be refused and never counts.") : null,
    waitingForOthers ? h("p", { class: "hint" },
      "You have confirmed: another admin must confirm the same amount. Confirming again replaces yours.") : null,
    item.confirmations.length ? h("ul", {}, item.confirmations.map((confirmation) => h("li", {},
      h("code", { title: confirmation.admin }, shortKey(confirmation.admin)),
      confirmation.admin === mine ? " (you)" : "",
      `: received ${formatMoney(confirmation.received_amount, confirmation.received_currency)}`,
      confirmation.credit_received_amount ? ", credit the received amount" : "",
      confirmation.note ? `, “${confirmation.note}”` : "",
      `, ${formatTime(confirmation.at)}`))) : null);
}

function actions(item, refresh) {
  const error = h("p", { class: "form-error", role: "alert" });
  const run = submitter(item, refresh, error);
  const confirm = confirmForm(item, run);
  const reject = rejectForm(item, run);
  return h("div", { class: "admin-actions" }, confirm, reject, error);
}

function submitter(item, refresh, error) {
  return (form, path, body, done) => async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const buttons = form.querySelectorAll("button");
    for (const button of buttons) button.disabled = true;
    error.textContent = "";
    try {
      const answer = await api(`/api/admin/payments/${item.payment_id}/${path}`, { method: "POST", body: body() });
      announce(done(answer));
      await refresh();
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? failure.message : `Failed: ${failure.message}`;
      for (const button of buttons) button.disabled = false;
    }
  };
}

function confirmForm(item, run) {
  const id = (name) => `${name}-${item.payment_id}`;
  const review = item.status === "needs_review";
  const amount = h("input", { id: id("received-amount"), name: "received_amount", value: item.amount, required: true, inputmode: "decimal", autocomplete: "off" });
  const currency = h("input", { id: id("received-currency"), name: "received_currency", value: item.currency, required: true, size: 4, autocomplete: "off" });
  const note = h("input", { id: id("note"), name: "note", required: review, maxlength: 500, autocomplete: "off" });
  const creditReceived = h("input", { id: id("credit-received"), name: "credit_received_amount", type: "checkbox" });
  const form = h("form", { class: "confirm-form", "aria-label": `Confirm ${item.reference}` },
    h("div", { class: "field-row" },
      h("div", { class: "field grow" }, h("label", { for: id("received-amount") }, review ? "Amount to credit" : "Received amount"), amount),
      h("div", { class: "field" }, h("label", { for: id("received-currency") }, "Currency"), currency)),
    h("div", { class: "field" }, h("label", { for: id("note") }, review ? "Note (required)" : "Note ", review ? null : h("span", { class: "optional" }, "(optional)")), note),
    review ? null : h("label", { class: "checkbox", for: id("credit-received") }, creditReceived,
      " Credit the received amount, even if it differs from the payment"),
    h("button", { type: "submit", class: "button primary" }, "Confirm"));
  form.addEventListener("submit", run(form, "confirm", () => ({
    received_amount: amount.value.trim(),
    received_currency: currency.value.trim().toUpperCase(),
    ...(note.value.trim() ? { note: note.value.trim() } : {}),
    ...(creditReceived.checked ? { credit_received_amount: true } : {}),
  }), (answer) => `${answer.reference}: ${answer.status.replace("_", " ")}, `
    + `${answer.confirmations.length} of ${answer.confirmations_required} confirmations`));
  return form;
}

function rejectForm(item, run) {
  const reasonId = `reject-reason-${item.payment_id}`;
  const reason = h("input", { id: reasonId, name: "reason", required: true, maxlength: 500, autocomplete: "off" });
  const form = h("form", { class: "reject-form", "aria-label": `Reject ${item.reference}` },
    h("div", { class: "field" }, h("label", { for: reasonId }, "Reason for rejecting"), reason),
    h("button", { type: "submit", class: "button danger" }, "Reject"));
  form.addEventListener("submit", run(form, "reject", () => ({ reason: reason.value.trim() }),
    (answer) => `${answer.reference}: rejected`));
  return form;
}
