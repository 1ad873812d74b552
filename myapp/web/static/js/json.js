// Comparing JSON values the way the API sees them.

/** Equal as JSON, ignoring member order and null members. */
export function sameValue(a, b) {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value) {
  if (value === null || value === undefined || typeof value !== "object") return value ?? null;
  if (Array.isArray(value)) return value.map(canonical);
  const keys = Object.keys(value).filter((key) => value[key] != null).sort();
  return Object.fromEntries(keys.map((key) => [key, canonical(value[key])]));
}
