// "Load more" under a paged list (API.md: lists answer `next_cursor`, continued with `cursor`): each press
// fetches the next page and hands its items to `append`; the button goes once the last page is in.

import { api, ApiError } from "./api.js";
import { announce, h } from "./dom.js";

export function loadMore({ id, path, cursor, append, label, signal }) {
  const button = h("button", { type: "button", class: "button subtle", id }, label);
  const error = h("p", { class: "form-error", role: "alert" });
  const row = h("div", { class: "load-more" }, button, error);
  let next = cursor;
  row.hidden = !next;
  button.addEventListener("click", async () => {
    button.disabled = true;
    error.textContent = "";
    try {
      const separator = path.includes("?") ? "&" : "?";
      const page = await api(`${path}${separator}cursor=${encodeURIComponent(next)}`);
      if (signal?.aborted) return;
      next = page.next_cursor;
      row.hidden = !next;
      append(page.items);
      announce(`${page.items.length} more loaded${next ? "" : ", that is all"}`);
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? failure.message : `Failed: ${failure.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return row;
}
