// The wallet's spending parts: the Pay button, the debt notice that disables it, and a spend's row details.

import { go } from "../router.js";
import { h } from "../dom.js";
import { formatMoney } from "../money.js";
import { openPayDialog } from "./pay.js";

export function payButton() {
  const pay = h("button", { type: "button", class: "button", id: "pay" }, "Pay");
  pay.addEventListener("click", () => openPayDialog(pay, { onClose: ({ paid }) => paid && go("#/") }));
  return pay;
}

// A wallet below zero owes: refunds or disputes took back credits already spent. Spending waits for a top-up.
export function debtNotice(wallet, pay, balance) {
  const owed = wallet.debt ?? (wallet.balance.startsWith("-") ? wallet.balance.slice(1) : "0.00");
  const inDebt = /[1-9]/.test(owed);
  pay.disabled = inDebt;
  balance.classList.toggle("owed", inDebt);
  pay.title = inDebt ? "Spending is disabled while you owe credits" : "";
  if (!inDebt) return null;
  return h("p", { class: "debt", id: "debt", role: "status" },
    h("strong", {}, `You owe ${formatMoney(owed, "MC")}: your next top-up pays it first.`),
    " A refund or dispute took back credits you had already spent; spending is disabled until your balance is above zero.");
}

export function spendDetails(entry) {
  return h("div", { class: "spend-details" },
    h("a", { href: `#/spends/${entry.spend_id}` }, entry.payee),
    entry.order_id ? h("span", {}, " · order ", h("code", {}, entry.order_id)) : null,
    entry.memo ? h("span", { class: "memo" }, ` · ${entry.memo}`) : null);
}
