// Times in the user's time zone and numbers in the browser's locale, for every page.

let zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** The IANA zone every time is shown in (the user's `time_zone` once known). */
export function timeZone() {
  return zone;
}

/** Set from GET /users/me; until then the browser's own zone is used. */
export function setTimeZone(name) {
  if (name) zone = name;
}

/** The browser's own zone, proposed on the settings page. */
export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function formatter(options) {
  return new Intl.DateTimeFormat(undefined, { timeZone: zone, ...options });
}

/** "7 Dec 2026, 14:05:09" in the user's zone and the browser's locale. */
export function formatTime(iso) {
  if (!iso) return "";
  return formatter({ dateStyle: "medium", timeStyle: "medium" }).format(new Date(iso));
}

/** "7 Dec 2026" in the user's zone. */
export function formatDate(iso) {
  if (!iso) return "";
  return formatter({ dateStyle: "medium" }).format(new Date(iso));
}

/** "14:05" in the user's zone. */
export function formatClock(iso) {
  if (!iso) return "";
  return formatter({ timeStyle: "short" }).format(new Date(iso));
}

/** "7 Dec 2026, 14:05" in the user's zone: a moment on a chart or in a caption. */
export function formatMinute(iso) {
  if (!iso) return "";
  return formatter({ dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}

/**
 * Labels for a time axis (uPlot's splits, in seconds): the time of day, or the
 * date at local midnight and wherever ticks are a day or more apart.
 */
export function formatTicks(splits, spacingSeconds) {
  const day = formatter({ day: "numeric", month: "short" });
  const dayAndYear = formatter({ day: "numeric", month: "short", year: "numeric" });
  const clock = formatter({ hour: "2-digit", minute: "2-digit" });
  return splits.map((seconds) => {
    const at = new Date(seconds * 1000);
    if (spacingSeconds >= 28 * 86400) return dayAndYear.format(at);
    if (spacingSeconds >= 86400 || isLocalMidnight(at)) return day.format(at);
    return clock.format(at);
  });
}

/** Whether at is 00:00 on the user's wall clock. */
export function isLocalMidnight(at) {
  const parts = formatter({ hour: "numeric", minute: "numeric", hourCycle: "h23" }).formatToParts(at);
  const value = (type) => Number(parts.find((part) => part.type === type).value);
  return value("hour") === 0 && value("minute") === 0;
}

/** The zone's short name at a moment ("CET", "GMT+5:30"), to name once per page. */
export function zoneLabel(at = new Date()) {
  const parts = formatter({ timeZoneName: "short" }).formatToParts(at);
  const name = parts.find((part) => part.type === "timeZoneName");
  return name ? `${zone} (${name.value})` : zone;
}

/** 25500 as "25,500" (or "25.500", as the locale writes it). */
export function formatNumber(value, options = {}) {
  if (value === null || value === undefined || Number.isNaN(value)) return "";
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: 6, ...options }).format(value);
}

const groupSeparator = new Intl.NumberFormat().formatToParts(10000).find((p) => p.type === "group")?.value ?? ",";

/**
 * A number typed by a person: "10,000", "10 000", "25.5", "25,5", "-3".
 * The last of "." or "," is the decimal mark when both appear; a lone comma
 * before exactly three digits is a thousands separator where the locale
 * groups with commas, otherwise a decimal mark. Returns null if not a number.
 */
export function parseNumber(text) {
  let s = String(text).trim().replace(/[\s\u00a0\u202f_']/g, "");
  if (!/^[-+]?[\d.,]+$/.test(s) || !/\d/.test(s)) return null;
  const lastDot = s.lastIndexOf(".");
  const lastComma = s.lastIndexOf(",");
  if (lastDot >= 0 && lastComma >= 0) {
    const decimal = lastDot > lastComma ? "." : ",";
    const group = decimal === "." ? "," : ".";
    s = s.split(group).join("").replace(decimal, ".");
  } else if (lastComma >= 0) {
    const groups = s.split(",");
    const grouped = groupSeparator === "," && groups.slice(1).every((g) => g.length === 3);
    s = grouped ? groups.join("") : groups.length === 2 ? s.replace(",", ".") : null;
  } else if (s.split(".").length > 2) {
    s = s.split(".").every((g, i) => i === 0 || g.length === 3) ? s.split(".").join("") : null;
  }
  if (s === null) return null;
  const value = Number(s);
  return Number.isFinite(value) ? value : null;
}
