// Hash routes: "#/payments/<id>?checkout=cancelled" -> { path: "/payments/<id>", params }.

export function currentRoute() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?", 2);
  return { path: path || "/", params: new URLSearchParams(query) };
}

// The first route whose pattern matches, with the pattern's captures; null when none does.
export function match(routes, path) {
  for (const [pattern, view] of routes) {
    const found = pattern.exec(path);
    if (found) return { view, captures: found.slice(1) };
  }
  return null;
}

export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}
