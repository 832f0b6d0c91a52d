// What a refused spend means to the payer, by the problem's `type` (API.md, "Spending credits").

import { ApiError } from "./api.js";
import { formatTime } from "./dom.js";
import { formatMoney } from "./money.js";

const KNOWN = ["insufficient-funds", "bad-signature", "stale-signature", "order-already-used", "signing-key-missing"];

function kind(error) {
  if (!(error instanceof ApiError)) return "unreached";
  const type = error.problem.type ?? "";
  const known = KNOWN.find((slug) => type.endsWith(`/${slug}`));
  if (known) return known;
  if (error.status >= 500) return "unreached"; // it may have been recorded
  return error.status === 409 ? "order-already-used" : "refused";
}

// {kind, message, nothingRecorded}: nothingRecorded is false only when the answer never came back.
export function spendProblem(error, order) {
  const problem = error instanceof ApiError ? error.problem : {};
  const found = kind(error);
  const message = {
    "insufficient-funds": () => notEnough(problem, order),
    "bad-signature": () => "The signature was refused: it does not verify against your key, so nothing was paid. "
      + "Sign out and sign in again with your key, then pay again.",
    "stale-signature": () => `Your device's clock is off${problem.server_time ? ` (the service's time is ${formatTime(problem.server_time)})` : ""}: `
      + "the time the payment was signed at was refused, so nothing was paid. Set the clock right and pay again.",
    "order-already-used": () => `Order id ${order.orderId} was already used with ${order.payee} for a different payment, `
      + "so nothing was paid. Use another order id.",
    "signing-key-missing": () => "Spending is switched off on this service: it has no key to sign receipts with, "
      + "so nothing was paid. Tell the service's operator.",
    refused: () => `The payment was refused: ${error.message}`,
    unreached: () => `The payment may not have reached the service (${error.message}). `
      + "Press Pay again: the same signed payment is sent, and it can never be paid twice.",
  }[found]();
  return { kind: found, message, nothingRecorded: found !== "unreached" };
}

function notEnough(problem, order) {
  const balance = problem.balance ?? null;
  const amount = problem.amount ?? order.amount;
  if (balance === null) return `Not enough credits for ${formatMoney(amount, "MC")}: nothing was paid.`;
  const debt = balance.startsWith("-") ? " You are in debt: your next top-up pays it first." : "";
  return `Not enough credits: your balance is ${formatMoney(balance, "MC")} and this payment is `
    + `${formatMoney(amount, "MC")}, so nothing was paid.${debt}`;
}
