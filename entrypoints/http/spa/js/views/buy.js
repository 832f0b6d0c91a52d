// The Buy Credits dialog: gateway, currency and amount, an exact estimate of the credits, then off
// to the gateway's checkout (or, for a bank transfer, to its instructions page).

import { api, ApiError } from "../api.js";
import { h, replaceChildren, trapFocus } from "../dom.js";
import { amountProblem, compareDecimals, creditsFor, formatMoney } from "../money.js";
import { go } from "../router.js";
import { gatewayName } from "../status.js";

export async function openBuyDialog(opener) {
  const dialog = h("dialog", { class: "modal", id: "buy-dialog", "aria-labelledby": "buy-title" },
    h("h2", { id: "buy-title" }, "Buy Credits"),
    h("p", { class: "loading", role: "status" }, "Loading payment methods…"));
  document.body.append(dialog);
  trapFocus(dialog);
  dialog.addEventListener("close", () => {
    dialog.remove();
    opener.focus();
  });
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.showModal();
  try {
    const gateways = await api("/api/payments/gateways", { signedIn: false });
    buildForm(dialog, gateways);
  } catch (error) {
    replaceChildren(dialog, h("h2", { id: "buy-title" }, "Buy Credits"),
      h("p", { class: "form-error", role: "alert" }, `Payment methods could not be loaded: ${error.message}`),
      h("div", { class: "actions" }, h("button", { type: "button", class: "button", onclick: () => dialog.close() }, "Close")));
    dialog.querySelector("button").focus();
  }
}

function buildForm(dialog, gateways) {
  const amount = h("input", {
    id: "buy-amount", name: "amount", inputmode: "decimal", autocomplete: "off", required: true,
    "aria-describedby": "buy-amount-hint buy-amount-error",
  });
  const amountHint = h("p", { class: "hint", id: "buy-amount-hint" });
  const amountError = h("p", { class: "field-error", id: "buy-amount-error" });
  const currency = h("select", { id: "buy-currency", name: "currency" });
  const email = h("input", { id: "buy-email", name: "email", type: "email", autocomplete: "email" });
  const estimate = h("output", { id: "buy-estimate", for: "buy-amount buy-currency", "aria-live": "polite" });
  const formError = h("p", { class: "form-error", id: "buy-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Continue to payment");
  const cancel = h("button", { type: "button", class: "button subtle", onclick: () => dialog.close() }, "Cancel");
  const options = gateways.map((gateway, index) => gatewayOption(gateway, index === 0));
  const form = h("form", { novalidate: true },
    h("h2", { id: "buy-title" }, "Buy Credits"),
    h("fieldset", { class: "gateways" }, h("legend", {}, "Pay with"), options),
    h("div", { class: "field-row" },
      h("div", { class: "field grow" }, h("label", { for: "buy-amount" }, "Amount"), amount, amountHint, amountError),
      h("div", { class: "field" }, h("label", { for: "buy-currency" }, "Currency"), currency)),
    h("div", { class: "field" },
      h("label", { for: "buy-email" }, "Email for the receipt ", h("span", { class: "optional" }, "(optional)")), email),
    estimate,
    formError,
    h("div", { class: "actions end" }, cancel, submit));
  replaceChildren(dialog, form);

  const chosen = () => gateways.find((gateway) => gateway.name === form.elements.gateway.value) ?? gateways[0];
  const idempotency = { fingerprint: "", key: "" };

  function showCurrencies() {
    const gateway = chosen();
    const previous = currency.value || "USD";
    replaceChildren(currency, gateway.currencies.map((code) => h("option", { value: code }, code)));
    currency.value = gateway.currencies.includes(previous) ? previous : gateway.currencies[0];
  }

  function update() {
    const gateway = chosen();
    const code = currency.value;
    const maximum = gateway.max_amount?.[code];
    const upTo = maximum ? `, maximum ${formatMoney(maximum, code)}` : "";
    amountHint.textContent = `Minimum ${formatMoney(gateway.min_amount[code], code)}${upTo} with ${gatewayName(gateway.name)}.`;
    const problem = amount.value.trim() ? amountProblem(amount.value, code, gateway.digits[code]) : null;
    showFieldError(problem);
    const rate = gateway.rates?.[code];
    const credits = !problem && amount.value.trim() && rate ? creditsFor(amount.value, rate) : null;
    estimate.textContent = credits
      ? `You will receive ${formatMoney(credits, "MC")} (1 ${code} = ${rate} MC, rounded down to 0.01 MC).`
      : "";
  }

  function showFieldError(message) {
    amountError.textContent = message ?? "";
    amount.setAttribute("aria-invalid", String(Boolean(message)));
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "gateway") showCurrencies();
    update();
  });
  amount.addEventListener("input", update);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.textContent = "";
    const problem = amountProblem(amount.value, currency.value, chosen().digits[currency.value])
      ?? limitProblem(chosen(), currency.value, amount.value.trim());
    if (problem) {
      showFieldError(problem);
      amount.focus();
      return;
    }
    const order = { amount: amount.value.trim(), currency: currency.value, gateway: chosen().name };
    if (email.value.trim()) order.email = email.value.trim();
    // One key per distinct order in this dialog: a retried submission cannot open a second checkout.
    const fingerprint = JSON.stringify(order);
    if (fingerprint !== idempotency.fingerprint) Object.assign(idempotency, { fingerprint, key: crypto.randomUUID() });
    submit.disabled = true;
    submit.textContent = "Starting payment…";
    try {
      const payment = await initiate(order, idempotency.key, (seconds) => {
        submit.textContent = `Checkout still opening, trying again in ${seconds} s…`;
      });
      leaveFor(dialog, payment, estimate);
    } catch (error) {
      submit.disabled = false;
      submit.textContent = "Continue to payment";
      showApiError(error, showFieldError, formError, amount);
    }
  });
  showCurrencies();
  update();
  amount.focus();
}

const LONGEST_WAIT_SECONDS = 30;
const MOST_ATTEMPTS = 40; // the server answers "in progress" for two minutes at the most before finishing it

// The same order and key again while the first attempt is still opening the checkout: the service answers
// 409 checkout-in-progress with Retry-After; wait as told and ask again, so the payer still reaches the checkout.
async function initiate(order, key, onWait) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await api("/api/payments/initiate", { method: "POST", body: order, headers: { "Idempotency-Key": key } });
    } catch (error) {
      if (!isCheckoutInProgress(error) || attempt >= MOST_ATTEMPTS) throw error;
      const seconds = Math.min(Math.max(error.retryAfter ?? 1, 1), LONGEST_WAIT_SECONDS);
      onWait(seconds);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    }
  }
}

function isCheckoutInProgress(error) {
  return isProblem(error, 409, "checkout-in-progress");
}

// The problem's `type` (`/problems/<slug>`) says what went wrong; its `detail` is words for people only.
function isProblem(error, status, slug) {
  return error instanceof ApiError && error.status === status && (error.problem.type ?? "").endsWith(`/problems/${slug}`);
}

// The gateway's own limits, as the gateways answer states them: refused here, before anything is sent.
function limitProblem(gateway, code, text) {
  const minimum = gateway.min_amount[code];
  const maximum = gateway.max_amount?.[code];
  const name = gatewayName(gateway.name);
  if (minimum && compareDecimals(text, minimum) < 0) return `The minimum with ${name} is ${formatMoney(minimum, code)}.`;
  if (maximum && compareDecimals(text, maximum) > 0) return `The maximum with ${name} is ${formatMoney(maximum, code)}.`;
  return null;
}

function gatewayOption(gateway, checked) {
  const currencies = gateway.currencies.join(", ");
  const minimum = gateway.min_amount.USD ? ` · from ${formatMoney(gateway.min_amount.USD, "USD")}` : "";
  return h("label", { class: "option" },
    h("input", { type: "radio", name: "gateway", value: gateway.name, checked }),
    h("span", { class: "option-name" }, gatewayName(gateway.name)),
    gateway.demo ? h("span", { class: "badge demo", title: "Simulated: no money moves" }, "Demo") : null,
    h("span", { class: "option-detail" }, `${currencies}${minimum}`));
}

function showApiError(error, showFieldError, formError, amount) {
  const detail = error instanceof ApiError ? error.message : `The payment could not be started: ${error.message}`;
  if (isProblem(error, 422, "invalid-amount")) {
    showFieldError(sentence(detail));
    amount.focus();
  } else {
    formError.textContent = sentence(detail);
  }
}

function sentence(text) {
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function leaveFor(dialog, payment, estimate) {
  estimate.textContent = `${formatMoney(payment.credits, "MC")} for ${formatMoney(payment.amount, payment.currency)}. `
    + `Taking you to ${gatewayName(payment.gateway)}…`;
  if (payment.gateway === "bank" || !payment.payment_url) {
    dialog.close();
    go(payment.gateway === "bank" ? `#/bank/${payment.payment_id}` : `#/payments/${payment.payment_id}`);
  } else {
    window.location.assign(payment.payment_url);
  }
}
