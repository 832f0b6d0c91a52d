// The wallet: balance (or debt), Buy Credits, Pay, the user's payments and the wallet's transactions, spends
// among them.

import { api } from "../api.js";
import { downloadText, formatTime, h, replaceChildren, shortKey } from "../dom.js";
import { backupText } from "../keys.js";
import { formatMoney } from "../money.js";
import { loadMore } from "../more.js";
import * as session from "../session.js";
import { gatewayName, statusBadge } from "../status.js";
import { openBuyDialog } from "./buy.js";
import { debtNotice, payButton, spendDetails } from "./wallet_spends.js";

export async function renderWallet(container, { signal }) {
  const balance = h("p", { class: "balance", id: "balance", "aria-live": "polite" }, "…");
  const buy = h("button", { type: "button", class: "button primary", id: "buy-credits" }, "Buy Credits");
  buy.addEventListener("click", () => openBuyDialog(buy));
  const pay = payButton();
  const debt = h("div", { id: "debt-notice" });
  const payments = h("div", { class: "table-wrap" }, h("p", { class: "loading" }, "Loading payments…"));
  const transactions = h("div", { class: "table-wrap" }, h("p", { class: "loading" }, "Loading transactions…"));
  const me = session.currentUser();
  replaceChildren(
    container,
    h("h1", { tabindex: "-1" }, "Wallet"),
    backupBanner(),
    h("section", { class: "card balance-card", "aria-labelledby": "balance-title" },
      h("h2", { id: "balance-title", class: "label" }, "Balance"),
      balance,
      h("p", { class: "hint" }, "Mycelium Credits (MC). Your public key: ",
        h("code", { title: me.public_key }, shortKey(me.public_key))),
      debt,
      h("div", { class: "actions" }, buy, pay)),
    h("section", { "aria-labelledby": "payments-title" }, h("h2", { id: "payments-title" }, "Payments"), payments),
    h("section", { "aria-labelledby": "transactions-title" },
      h("h2", { id: "transactions-title" }, "Transactions"), transactions),
  );
  const [wallet, list] = await Promise.all([api("/api/wallet"), api("/api/payments")]);
  if (signal.aborted) return;
  balance.textContent = formatMoney(wallet.balance, wallet.currency);
  replaceChildren(debt, debtNotice(wallet, pay, balance));
  replaceChildren(payments, pagedTable({
    id: "payments", items: list.items, cursor: list.next_cursor, path: "/api/payments", signal,
    titles: ["Date", "Method", "Amount", "Credits", "Status", "Reference"], row: paymentRow,
    empty: "No payments yet. Buy Credits to top up your wallet.", label: "Load more payments",
  }));
  replaceChildren(transactions, pagedTable({
    id: "transactions", items: wallet.transactions, cursor: wallet.next_cursor, path: "/api/wallet/transactions",
    signal, titles: ["Date", "Type", "Details", "Amount", "Balance after"], row: transactionRow,
    empty: "No transactions yet.", label: "Load more transactions",
  }));
}

function backupBanner() {
  const backup = session.pendingBackup();
  if (!backup) return null;
  const banner = h("section", { class: "banner", role: "region", "aria-labelledby": "backup-title" });
  const done = () => {
    session.dropBackup();
    banner.remove();
    document.getElementById("buy-credits")?.focus();
  };
  replaceChildren(banner,
    h("h2", { id: "backup-title" }, "Back up your key now"),
    h("p", {},
      "This browser keeps your key locked: after this page, not even mcpay can show it again. ",
      "Download the backup file and keep it somewhere safe. Anyone holding it can spend your credits."),
    h("div", { class: "actions" },
      h("button", {
        type: "button",
        class: "button primary",
        id: "download-backup",
        onclick: () => downloadText(`mcpay-key-${backup.publicKey.slice(0, 8)}.txt`,
          backupText(backup.seedHex, backup.publicKey)),
      }, "Download key backup"),
      h("button", { type: "button", class: "button subtle", onclick: done }, "I have saved it")));
  return banner;
}

function cell(label, ...content) {
  return h("td", { "data-label": label }, ...content);
}

// A table of a list's first page, with "Load more" appending the next pages' rows to it.
function pagedTable({ id, items, cursor, path, signal, titles, row, empty, label }) {
  if (!items.length) return h("p", { class: "empty" }, empty);
  const body = h("tbody", {}, items.map(row));
  return [
    h("table", { class: "responsive", id },
      h("thead", {}, h("tr", {}, titles.map((title) => h("th", { scope: "col" }, title)))), body),
    loadMore({ id: `more-${id}`, path, cursor, signal, label, append: (more) => body.append(...more.map(row)) }),
  ];
}

function paymentRow(payment) {
  return h("tr", { dataset: { paymentId: payment.payment_id } },
    cell("Date", formatTime(payment.created_at)),
    cell("Method", gatewayName(payment.gateway)),
    cell("Amount", formatMoney(payment.amount, payment.currency)),
    cell("Credits", formatMoney(payment.credits, "MC")),
    cell("Status", statusBadge(payment.status)),
    cell("Reference", h("a", { href: paymentHref(payment) }, payment.reference)));
}

export function paymentHref(payment) {
  return payment.gateway === "bank" ? `#/bank/${payment.payment_id}` : `#/payments/${payment.payment_id}`;
}

const MOVEMENTS = { top_up: "Top-up", reversal: "Reversal", reinstatement: "Dispute won: credits back", spend: "Payment" };
const DEBITS = new Set(["reversal", "spend"]);

function transactionRow(entry) {
  const dataset = entry.type === "spend" ? { type: entry.type, spendId: entry.spend_id } : { type: entry.type };
  return h("tr", { dataset },
    cell("Date", formatTime(entry.at)),
    cell("Type", MOVEMENTS[entry.type] ?? entry.type),
    cell("Details", entry.type === "spend" ? spendDetails(entry) : null),
    cell("Amount", `${DEBITS.has(entry.type) ? "−" : "+"}${formatMoney(entry.amount.replace(/^-/, ""), "MC")}`),
    cell("Balance after", formatMoney(entry.balance_after, "MC")));
}
