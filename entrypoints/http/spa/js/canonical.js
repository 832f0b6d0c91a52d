// Canonical JSON (API.md, "Audit"): keys sorted at every level, no spaces, characters as they are, the bytes
// Python's json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) writes. Spend messages
// and receipts hold only strings, objects and arrays: numbers are not canonicalised here (JSON.stringify
// writes 1.0 as "1", Python as "1.0").

export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const members = Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${members.join(",")}}`;
  }
  if (typeof value === "number") throw new TypeError("canonical JSON here carries no numbers: send amounts as strings");
  return JSON.stringify(value);
}
