// The Pay dialog: payee, order id, amount and memo, signed here with the kept key and sent as a spend;
// then the receipt. The same fields sent again carry the same signed body, so a retry after a lost answer
// finds the spend already made (the order id is its idempotency key) instead of making a second one. A spend
// whose answer never came back is offered again, as it was signed, the next time the dialog opens.

import { api } from "../api.js";
import { h, replaceChildren, trapFocus } from "../dom.js";
import { amountProblem, formatMoney } from "../money.js";
import * as session from "../session.js";
import { MC_DIGITS, MEMO_LIMIT, NAME, newOrderId, signedSpend, twoDecimals } from "../spend.js";
import { spendProblem } from "../spend_problems.js";
import { receiptDetails } from "./receipt.js";

const RESIGN_AFTER_MS = 4 * 60_000; // the service refuses signatures older than 5 minutes
const NAME_RULE = "1 to 64 characters: letters, digits and . _ : -";

let unanswered = null; // { userId, order, kept }: the last spend sent whose answer was lost

export function openPayDialog(opener, { onClose }) {
  const dialog = h("dialog", { class: "modal", id: "pay-dialog", "aria-labelledby": "pay-title" });
  document.body.append(dialog);
  trapFocus(dialog);
  let paid = false;
  dialog.addEventListener("close", () => {
    dialog.remove();
    opener.focus();
    onClose({ paid });
  });
  buildForm(dialog, () => { paid = true; });
  dialog.showModal();
  dialog.querySelector("#pay-payee").focus();
}

function field(id, label, input, hint) {
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  input.setAttribute("aria-describedby", `${hintId} ${errorId}`);
  const error = h("p", { class: "field-error", id: errorId });
  return {
    input,
    element: h("div", { class: "field" }, h("label", { for: id }, label), input, h("p", { class: "hint", id: hintId }, hint), error),
    show(message) {
      error.textContent = message ?? "";
      input.setAttribute("aria-invalid", String(Boolean(message)));
    },
  };
}

function buildForm(dialog, markPaid) {
  const payee = field("pay-payee", "Payee", h("input", { id: "pay-payee", name: "payee", autocomplete: "off", required: true, maxlength: 64 }),
    `Who you pay: ${NAME_RULE}.`);
  const orderId = field("pay-order", "Order id", h("input", { id: "pay-order", name: "order_id", autocomplete: "off", required: true, maxlength: 64, value: newOrderId() }),
    "A new id is filled in; use the payee's order id if it gave you one. One order id pays once.");
  const amount = field("pay-amount", "Amount (MC)", h("input", { id: "pay-amount", name: "amount", inputmode: "decimal", autocomplete: "off", required: true }),
    "Mycelium Credits, at most 2 decimal places.");
  const memo = field("pay-memo", "Memo (optional)", h("input", { id: "pay-memo", name: "memo", autocomplete: "off", maxlength: MEMO_LIMIT }),
    `Up to ${MEMO_LIMIT} characters; the memo is signed with the payment.`);
  const freshId = h("button", { type: "button", class: "button subtle small", id: "new-order-id" }, "New order id");
  orderId.element.append(freshId);
  const formError = h("p", { class: "form-error", id: "pay-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "button primary", id: "pay-submit" }, "Sign and pay");
  const cancel = h("button", { type: "button", class: "button subtle", onclick: () => dialog.close() }, "Cancel");
  const form = h("form", { novalidate: true },
    h("h2", { id: "pay-title" }, "Pay"),
    h("p", { class: "hint" }, "This browser signs the payment with your key; the service records it only if the signature and your balance cover it."),
    payee.element, orderId.element, amount.element, memo.element, formError,
    h("div", { class: "actions end" }, cancel, submit));
  replaceChildren(dialog, form);
  freshId.addEventListener("click", () => {
    orderId.input.value = newOrderId();
    orderId.show(null);
    orderId.input.focus();
  });

  let kept = null; // { fingerprint, body, refused }: the last signed body, sent again while the fields are unchanged
  const userId = session.currentUser().user_id;
  if (unanswered?.userId === userId) {
    ({ kept } = unanswered);
    const { order } = unanswered;
    [payee.input.value, orderId.input.value, amount.input.value, memo.input.value] = [order.payee, order.orderId, order.amount, order.memo];
    formError.before(h("p", { class: "warning", id: "pay-unanswered", role: "status" },
      "The answer to your last payment was lost on the way. Press Sign and pay to send the same signed payment "
      + "again: it is paid at most once."));
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.textContent = "";
    dialog.querySelector("#pay-unanswered")?.remove();
    const order = readOrder({ payee, orderId, amount, memo });
    if (!order) return;
    const fingerprint = JSON.stringify(order);
    const reuse = kept && kept.fingerprint === fingerprint
      && !(kept.refused && Date.now() - Date.parse(kept.body.signed_at) > RESIGN_AFTER_MS);
    submit.disabled = true;
    submit.textContent = "Signing and paying…";
    try {
      if (!reuse) kept = { fingerprint, body: await signedSpend(order, userId, session.signWithKey) };
      const spend = await api("/api/wallet/spends", { method: "POST", body: kept.body });
      unanswered = null;
      markPaid();
      showReceipt(dialog, spend);
    } catch (error) {
      const problem = spendProblem(error, order);
      // A refusal that signing again cannot cure by itself is dropped, so the next press signs anew.
      if (["bad-signature", "stale-signature"].includes(problem.kind)) kept = null;
      else if (kept) kept.refused = problem.nothingRecorded;
      unanswered = problem.nothingRecorded ? null : { userId, order, kept };
      formError.textContent = problem.message;
      formError.dataset.problem = problem.kind;
      if (problem.kind === "order-already-used") orderId.show("Already used for a different payment.");
      submit.disabled = false;
      submit.textContent = "Sign and pay";
    }
  });
}

// The order as the message signs it, or null after marking what is wrong.
function readOrder({ payee, orderId, amount, memo }) {
  const problems = [
    [payee, NAME.test(payee.input.value.trim()) ? null : `Enter the payee: ${NAME_RULE}.`],
    [orderId, NAME.test(orderId.input.value.trim()) ? null : `Enter an order id: ${NAME_RULE}.`],
    [amount, amountProblem(amount.input.value, "MC", MC_DIGITS)],
    [memo, [...memo.input.value].length > MEMO_LIMIT ? `At most ${MEMO_LIMIT} characters.` : null],
  ];
  for (const [part, message] of problems) part.show(message);
  const first = problems.find(([, message]) => message);
  if (first) {
    first[0].input.focus();
    return null;
  }
  return {
    payee: payee.input.value.trim(),
    orderId: orderId.input.value.trim(),
    amount: twoDecimals(amount.input.value.trim()),
    memo: memo.input.value,
  };
}

function showReceipt(dialog, spend) {
  const close = h("button", { type: "button", class: "button primary", id: "pay-done", onclick: () => dialog.close() }, "Done");
  replaceChildren(dialog,
    h("h2", { id: "pay-title" }, `Paid ${formatMoney(spend.amount, spend.currency)} to ${spend.payee}`),
    h("p", { class: "status-text", role: "status" }, `Your balance is now ${formatMoney(spend.balance_after, "MC")}.`),
    receiptDetails(spend),
    h("div", { class: "actions end" }, close));
  close.focus();
}
