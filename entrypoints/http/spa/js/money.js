// Money as decimal strings and BigInt units: never a float (0.1 + 0.2 is not 0.3). How many decimal places a
// currency has is the server's to say (GET /api/payments/gateways, `digits`): no table of them here.

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

// "12.345" -> { units: 12345n, scale: 3 }; null when the text is not a plain non-negative decimal.
export function parseDecimal(text) {
  const match = DECIMAL.exec(String(text).trim());
  if (!match) return null;
  const fraction = match[2] ?? "";
  return { units: BigInt(match[1] + fraction), scale: fraction.length };
}

// -1, 0 or 1 as decimal text `a` is below, at or above `b`; null when either is not a plain decimal.
export function compareDecimals(a, b) {
  const left = parseDecimal(a);
  const right = parseDecimal(b);
  if (!left || !right) return null;
  const scale = Math.max(left.scale, right.scale);
  const x = left.units * 10n ** BigInt(scale - left.scale);
  const y = right.units * 10n ** BigInt(scale - right.scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

function formatUnits(units, scale) {
  const digits = units.toString().padStart(scale + 1, "0");
  if (scale === 0) return digits;
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

// Credits for an amount at a rate (MC per currency unit), rounded down to 0.01 MC, as the server does.
export function creditsFor(amountText, rateText) {
  const amount = parseDecimal(amountText);
  const rate = parseDecimal(rateText);
  if (!amount || !rate) return null;
  const product = amount.units * rate.units;
  const scale = amount.scale + rate.scale;
  const cents = scale >= 2 ? product / 10n ** BigInt(scale - 2) : product * 10n ** BigInt(2 - scale);
  return formatUnits(cents, 2);
}

// What is wrong with an amount the user typed in a currency of `digits` decimal places, or null when it is a
// well-formed positive amount.
export function amountProblem(text, currency, digits) {
  const trimmed = String(text).trim();
  if (trimmed === "") return "Enter an amount.";
  const value = parseDecimal(trimmed);
  if (!value) return "Enter the amount as a number, like 25.00 (digits and one decimal point).";
  if (value.scale > digits) {
    const places = digits === 0 ? "are whole numbers" : `have at most ${digits} decimal places`;
    return `${currency} amounts ${places}.`;
  }
  if (value.units === 0n) return "Enter an amount above zero.";
  return null;
}

// "1351.36" -> "1,351.36": grouping only; the digits stay exactly the server's.
export function groupDigits(text) {
  const [whole, fraction] = String(text).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

export function formatMoney(amount, currency) {
  return `${groupDigits(amount)} ${currency}`;
}
