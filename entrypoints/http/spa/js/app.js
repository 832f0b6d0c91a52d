// Start-up and navigation: restore the session, then show the page the hash names.

import { ApiError } from "./api.js";
import { h, replaceChildren, shortKey } from "./dom.js";
import { currentRoute, go, match } from "./router.js";
import * as session from "./session.js";
import { renderAdmin } from "./views/admin.js";
import { renderBank } from "./views/bank.js";
import { renderPayment } from "./views/payment.js";
import { renderSpend } from "./views/receipt.js";
import { renderSignIn } from "./views/signin.js";
import { renderWallet } from "./views/wallet.js";

const UUID = "([0-9a-fA-F-]{36})";
const ROUTES = [
  [/^\/$/, renderWallet],
  [new RegExp(`^/payments/${UUID}$`), renderPayment],
  [new RegExp(`^/bank/${UUID}$`), renderBank],
  [new RegExp(`^/spends/${UUID}$`), renderSpend],
  [/^\/admin$/, renderAdmin],
];

const view = document.getElementById("view");
let leaving = null;

async function render({ moveFocus = true } = {}) {
  leaving?.abort();
  const visit = new AbortController();
  leaving = visit;
  showChrome();
  try {
    if (!session.isSignedIn()) {
      await renderSignIn(view, { onSignedIn: () => render() });
    } else {
      const route = currentRoute();
      const found = match(ROUTES, route.path);
      if (found) await found.view(view, { ...route, captures: found.captures, signal: visit.signal });
      else notFound();
    }
  } catch (error) {
    if (!visit.signal.aborted) failed(error);
  }
  if (moveFocus && !visit.signal.aborted) view.querySelector("h1")?.focus({ preventScroll: false });
}

function showChrome() {
  const signedIn = session.isSignedIn();
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("account").hidden = !signedIn;
  document.querySelector('[data-nav="admin"]').hidden = !session.isAdmin();
  const me = session.currentUser();
  const key = document.getElementById("account-key");
  key.textContent = me ? shortKey(me.public_key) : "";
  key.title = me ? `Signed in as ${me.public_key}` : "";
  const path = currentRoute().path;
  for (const link of document.querySelectorAll("[data-nav]")) {
    const here = (link.dataset.nav === "admin") === path.startsWith("/admin");
    if (here && signedIn) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function notFound() {
  replaceChildren(view, h("h1", { tabindex: "-1" }, "Page not found"),
    h("p", {}, h("a", { href: "#/" }, "Go to your wallet")));
}

function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    signedOut();
    return;
  }
  replaceChildren(view, h("h1", { tabindex: "-1" }, "Something went wrong"),
    h("p", { class: "form-error", role: "alert" }, error.message || String(error)),
    h("p", {}, h("button", { type: "button", class: "button", onclick: () => render() }, "Try again")));
}

async function signedOut() {
  await session.signOut();
  render();
}

document.getElementById("sign-out").addEventListener("click", async () => {
  await session.signOut();
  go("#/");
});
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault(); // "#view" would be read as a route
  view.focus();
});
window.addEventListener("hashchange", () => render());
window.addEventListener("mcpay:signed-out", signedOut);

async function start() {
  try {
    await session.restore();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
    await session.signOut();
  }
  await render({ moveFocus: false });
}

start().catch(failed);
