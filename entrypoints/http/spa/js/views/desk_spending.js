// The admin desk's spending sections: what each payee has been paid, and the wallets in debt (below zero
// after a refund or dispute took back credits already spent).

import { api, ApiError } from "../api.js";
import { formatTime, h, replaceChildren, shortKey } from "../dom.js";
import { formatMoney } from "../money.js";

// "Jump to" buttons for the top of the desk: the sections come after the payment queue, which can be long.
// Buttons, not links: "#payees-title" would be read as a route.
export function spendingJumps() {
  const jump = (label, target) => h("button", {
    type: "button", class: "button subtle small",
    onclick: () => {
      const heading = document.getElementById(target);
      heading?.scrollIntoView({ block: "start" });
      heading?.focus({ preventScroll: true });
    },
  }, label);
  return h("p", { class: "jumps" }, "Jump to ", jump("Payee balances", "payees-title"), " ", jump("Debts", "debts-title"));
}

export function spendingSections(signal) {
  const payees = h("div", { class: "table-wrap", id: "payees-list" }, h("p", { class: "loading" }, "Loading payees…"));
  const debts = h("div", { class: "table-wrap", id: "debts-list" }, h("p", { class: "loading" }, "Loading debts…"));
  fill(payees, "/api/admin/payees", signal, {
    id: "payees", titles: ["Payee", "Balance", "Spends"], empty: "No payee has been paid yet.",
    row: (item) => h("tr", { dataset: { payee: item.payee } },
      cell("Payee", item.payee), cell("Balance", formatMoney(item.balance, "MC")), cell("Spends", String(item.spends))),
  });
  fill(debts, "/api/admin/debts", signal, {
    id: "debts", titles: ["User", "Owes", "Since"], empty: "No wallet is in debt.",
    row: (item) => h("tr", { dataset: { userId: item.user_id } },
      cell("User", h("code", { title: item.user_id }, shortKey(item.user_id))),
      cell("Owes", formatMoney(item.balance.replace(/^-/, ""), "MC")),
      cell("Since", item.since ? formatTime(item.since) : "–")),
  });
  return [
    h("section", { "aria-labelledby": "payees-title" }, h("h2", { id: "payees-title", tabindex: "-1" }, "Payee balances"),
      h("p", { class: "hint" }, "Credits paid to each payee by signed spends, highest first."), payees),
    h("section", { "aria-labelledby": "debts-title" }, h("h2", { id: "debts-title", tabindex: "-1" }, "Debts"),
      h("p", { class: "hint" }, "Wallets below zero: a refund or dispute took back credits already spent. Their next top-up pays the debt first."), debts),
  ];
}

async function fill(container, path, signal, { id, titles, empty, row }) {
  try {
    const { items } = await api(path);
    if (signal.aborted) return;
    replaceChildren(container, items.length ? h("table", { class: "responsive", id },
      h("thead", {}, h("tr", {}, titles.map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, items.map(row))) : h("p", { class: "empty" }, empty));
  } catch (error) {
    if (signal.aborted) return;
    replaceChildren(container, h("p", { class: "form-error", role: "alert" },
      error instanceof ApiError ? error.message : `Failed: ${error.message}`));
  }
}

function cell(label, ...content) {
  return h("td", { "data-label": label }, ...content);
}
