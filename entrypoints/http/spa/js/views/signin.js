// Sign-in: create a key in this browser, import one (hex seed or backup file), or use the saved one.

import { h, replaceChildren, shortKey } from "../dom.js";
import { keysSupported, seedFromText } from "../keys.js";
import * as session from "../session.js";

export async function renderSignIn(container, { onSignedIn }) {
  const saved = session.savedKey();
  const status = h("p", { class: "form-status", role: "status" });
  replaceChildren(
    container,
    h("h1", { tabindex: "-1" }, "Sign in to your wallet"),
    h("p", { class: "lead" },
      "mcpay has no passwords. Your wallet belongs to an ed25519 keypair kept in this browser: ",
      "you prove it is yours by signing a one-time challenge."),
    status,
    saved ? savedKeyCard(saved, status, onSignedIn, container) : null,
    h("div", { class: "cards" }, createCard(status, onSignedIn), importCard(status, onSignedIn)),
  );
  if (!(await keysSupported())) {
    for (const button of container.querySelectorAll("button")) button.disabled = true;
    status.className = "form-status error";
    status.textContent = "This browser cannot use ed25519 keys here. Use a current browser "
      + "(Chrome 137+, Firefox 129+, Safari 17+) over https or on localhost.";
  }
}

async function attempt(status, buttons, work, onSignedIn) {
  for (const button of buttons) button.disabled = true;
  status.className = "form-status";
  status.textContent = "Signing in…";
  try {
    await work();
    status.textContent = "";
    onSignedIn();
  } catch (error) {
    status.className = "form-status error";
    status.textContent = `Could not sign in: ${error.message}`;
    for (const button of buttons) button.disabled = false;
  }
}

function savedKeyCard(saved, status, onSignedIn, container) {
  const signIn = h("button", { type: "button", class: "button primary" }, "Sign in with this key");
  const forget = h("button", { type: "button", class: "button subtle" }, "Forget this key…");
  const confirmForget = h("div", { class: "warning", hidden: true },
    h("p", {}, "Forgetting removes the key from this browser. Without a backup file you lose this wallet for good."),
    h("button", {
      type: "button",
      class: "button danger",
      onclick: async () => {
        await session.forgetSavedKey();
        renderSignIn(container, { onSignedIn });
      },
    }, "Yes, forget this key"));
  signIn.addEventListener("click", () => attempt(status, [signIn, forget], session.signInWithSavedKey, onSignedIn));
  forget.addEventListener("click", () => {
    confirmForget.hidden = false;
    confirmForget.querySelector("button").focus();
  });
  return h("section", { class: "card", "aria-labelledby": "saved-key-title" },
    h("h2", { id: "saved-key-title" }, "Your saved key"),
    h("p", {}, "Public key ", h("code", { title: saved.publicKey }, shortKey(saved.publicKey))),
    h("div", { class: "actions" }, signIn, forget),
    confirmForget);
}

function createCard(status, onSignedIn) {
  const create = h("button", { type: "button", class: "button primary", id: "create-key" }, "Create a new key");
  create.addEventListener("click", () => attempt(status, [create], session.createKey, onSignedIn));
  return h("section", { class: "card", "aria-labelledby": "create-title" },
    h("h2", { id: "create-title" }, "New here?"),
    h("p", {}, "Create a key in this browser. You will be offered a backup file once, right away: keep it safe, ",
      "it is the only way to reach this wallet from another browser."),
    create);
}

function importCard(status, onSignedIn) {
  const seed = h("input", {
    id: "import-seed", name: "seed", type: "password", autocomplete: "off", spellcheck: "false",
    "aria-describedby": "import-seed-hint import-error",
  });
  const file = h("input", { id: "import-file", type: "file", accept: ".txt,text/plain" });
  const error = h("p", { id: "import-error", class: "field-error", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button" }, "Import and sign in");
  file.addEventListener("change", async () => {
    const text = file.files[0] ? await file.files[0].text() : "";
    seed.value = seedFromText(text) ?? "";
    error.textContent = seed.value ? "" : "That file holds no 64-hex-digit private key.";
  });
  const form = h("form", { novalidate: true },
    h("label", { for: "import-seed" }, "Private key"),
    h("p", { class: "hint", id: "import-seed-hint" }, "64 hex digits, from a backup file or `mcpay keygen`."),
    seed,
    h("label", { for: "import-file", class: "file-label" }, "…or open a backup file"),
    file,
    error,
    submit);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const hex = seedFromText(seed.value);
    seed.setAttribute("aria-invalid", String(!hex));
    if (!hex) {
      error.textContent = "Enter the 64 hex digits of a private key.";
      seed.focus();
      return;
    }
    error.textContent = "";
    attempt(status, [submit], () => session.importKey(hex), onSignedIn);
  });
  return h("section", { class: "card", "aria-labelledby": "import-title" },
    h("h2", { id: "import-title" }, "Import a key"), form);
}
