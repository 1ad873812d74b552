// A habit's streak calendar: met or not, period by period. The API keeps no
// per-period history of a goal, so the periods come from GET /readings/stats
// (buckets of 1d, 1w or 1mo in the user's zone) judged against the target here.
import { get, withQuery } from "../api.js";
import { h, hidden } from "../dom.js";
import { formatNumber } from "../format.js";

const SHOWN = { day: 14, week: 8, month: 6 };
const BUCKETS = { day: "1d", week: "1w", month: "1mo" };
const SPAN_DAYS = { day: 15, week: 57, month: 190 };

/** The calendar for a habit (empty for "last", which stats cannot give per period). */
export async function streakCalendar(goal) {
  const { sensor, field, aggregate, period } = goal.target;
  if (aggregate === "last") {
    return h("p", { class: "hint" }, "No history for a habit on the latest value: only the current period is known.");
  }
  const since = new Date(Date.now() - SPAN_DAYS[period] * 86400000).toISOString();
  const stats = await get(withQuery("/readings/stats", { sensor, field, bucket: BUCKETS[period], since }));
  const values = new Map(stats.buckets.map((bucket) => [periodKey(localDate(bucket.start, stats.tz), period), bucket]));
  const startKey = periodKey(localDate(goal.started_at, stats.tz), period);
  const keys = recentKeys(localDate(new Date().toISOString(), stats.tz), period, SHOWN[period]);
  const cells = keys.map((key) => {
    const label = periodLabel(key, period);
    if (key < startKey) return cell("before", `${label}: before the goal started`, "·");
    const value = valueOf(values.get(key), aggregate);
    const met = value != null && (goal.target.op === "<=" ? value <= goal.target.value : value >= goal.target.value);
    const shown = value == null ? "no readings" : formatNumber(value);
    return cell(met ? "met" : "missed", `${label}: ${shown}, ${met ? "met" : "not met"}`, met ? "✓" : "✗");
  });
  return h(
    "div",
    { class: "streak" },
    h("p", { class: "streak-title", id: `streak-${goal.id}` }, `Last ${keys.length} ${period}s, oldest first`),
    h("ol", { class: "streak-calendar", "aria-labelledby": `streak-${goal.id}`, dataset: { goalId: goal.id } }, cells),
  );
}

function cell(kind, text, mark) {
  return h("li", { class: `streak-${kind}`, title: text }, h("span", { "aria-hidden": "true" }, mark), hidden(text));
}

/** A bucket's aggregate; a period without a bucket has no readings (sum and count 0). */
function valueOf(bucket, aggregate) {
  if (!bucket) return aggregate === "sum" || aggregate === "count" ? 0 : null;
  return bucket[aggregate];
}

/** "2026-12-07": the calendar date of an instant in zone. */
function localDate(iso, zone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(
    new Date(iso),
  );
}

function utcDay(key) {
  const [y, m, d] = key.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

function dayKey(date) {
  return date.toISOString().slice(0, 10);
}

/** The key of the period a date is in: itself, its Monday, or the first of its month. */
function periodKey(key, period) {
  const date = utcDay(key);
  if (period === "week") date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
  if (period === "month") date.setUTCDate(1);
  return dayKey(date);
}

/** The last n period keys up to the one containing today, oldest first. */
function recentKeys(today, period, n) {
  const current = utcDay(periodKey(today, period));
  const keys = [];
  for (let back = n - 1; back >= 0; back -= 1) {
    const date = new Date(current);
    if (period === "day") date.setUTCDate(date.getUTCDate() - back);
    if (period === "week") date.setUTCDate(date.getUTCDate() - 7 * back);
    if (period === "month") date.setUTCMonth(date.getUTCMonth() - back);
    keys.push(dayKey(date));
  }
  return keys;
}

function periodLabel(key, period) {
  const options =
    period === "month" ? { month: "long", year: "numeric" } : { weekday: "short", day: "numeric", month: "short" };
  const text = new Intl.DateTimeFormat(undefined, { timeZone: "UTC", ...options }).format(utcDay(key));
  return period === "week" ? `Week of ${text}` : text;
}
