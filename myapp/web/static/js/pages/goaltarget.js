// A goal's target: the form's "Measure with readings" part and the sentence a
// measured goal's row reads ("Total steps from phone of at least 10,000 a day: ...").
import { field, h, select, uid } from "../dom.js";
import { formatNumber, parseNumber } from "../format.js";
import { sensorAndField } from "../pickers.js";

const AGGREGATES = [
  ["sum", "total"],
  ["count", "number of readings"],
  ["min", "lowest"],
  ["max", "highest"],
  ["avg", "average"],
  ["last", "latest"],
];
const OPS = [[">=", "at least"], ["<=", "at most"]];
const PERIODS = [["", "overall (no period)"], ["day", "per day"], ["week", "per week"], ["month", "per month"]];
const NOW_WORDS = { day: "today", week: "this week", month: "this month" };

/** A habit is met per period (day, week, month), never completed for good. */
export function isHabit(goal) {
  return Boolean(goal.target && goal.target.period);
}

/** "met today" / "not met yet this week" for a habit's current period. */
export function habitStatus(goal) {
  const now = NOW_WORDS[goal.target.period];
  return goal.measured && goal.measured.met ? `Met ${now}` : `Not met yet ${now}`;
}

/** "Total steps from phone of at least 10,000 a day: 25,500 today, met · 2-day streak". */
export function measuredSentence(goal) {
  const { aggregate, field: name, sensor, op, value, period } = goal.target;
  const what = Object.fromEntries(AGGREGATES)[aggregate] || aggregate;
  const subject = aggregate === "count" ? `Number of readings from ${sensor}` : `${capital(what)} ${name} from ${sensor}`;
  const bound = `${op === "<=" ? "at most" : "at least"} ${formatNumber(value)}${period ? ` a ${period}` : ""}`;
  let text = `${subject} of ${bound}`;
  if (goal.measured) {
    const now = period ? NOW_WORDS[period] : "so far";
    const shown = goal.measured.value == null ? `no readings ${period ? now : "yet"}` : `${formatNumber(goal.measured.value)} ${now}`;
    text += `: ${shown}, ${goal.measured.met ? "met" : "not met yet"}`;
  }
  if (goal.streak != null) text += ` · ${goal.streak ? `${formatNumber(goal.streak)}-${period} streak` : "no streak yet"}`;
  return text;
}

function capital(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "Measure with readings": the optional target of a goal; value() is undefined
 * when untouched, null to remove one, else the target. check() throws a field
 * error for a sensor that has not sent and was not confirmed. */
export function targetFields(current, sensors) {
  const enabled = h("input", { type: "checkbox", checked: Boolean(current) });
  const watched = sensorAndField(sensors, {
    sensor: current ? current.sensor : "",
    fieldName: current ? current.field : "",
    pointers: { sensor: "/target/sensor", field: "/target/field" },
  });
  const aggregate = select(AGGREGATES, current ? current.aggregate : "sum", { name: "aggregate" });
  const op = select(OPS, current ? current.op : ">=", { name: "op" });
  // The stored number exactly as JavaScript writes it: an unchanged edit compares equal.
  const value = h("input", { name: "value", inputmode: "decimal", autocomplete: "off", value: current ? String(current.value) : "" });
  const period = select(PERIODS, current && current.period ? current.period : "", { name: "period" });
  const details = h(
    "div",
    { class: "group" },
    watched.sensorElement,
    watched.fieldElement,
    field("Aggregate", aggregate, { pointer: "/target/aggregate" }),
    field("Comparison", op, { pointer: "/target/op" }),
    field("Target value", value, { pointer: "/target/value", hint: "A number, such as 10,000 or 25.5." }),
    field("Period", period, { pointer: "/target/period", hint: "With a period the goal is a habit: met per day, week or month." }),
  );
  const error = h("p", { class: "field-error", hidden: true });
  const legendId = uid("target");
  const fieldset = h(
    "fieldset",
    { id: uid("target-set"), class: "target", dataset: { pointer: "/target" }, "aria-labelledby": legendId },
    h("legend", { id: legendId }, h("label", {}, enabled, " Measure with readings")),
    error,
    details,
  );
  error.id = `${fieldset.id}-error`;
  fieldset.setAttribute("aria-describedby", error.id);
  const sync = () => {
    details.hidden = !enabled.checked;
    fieldset.classList.toggle("closed", !enabled.checked);
  };
  enabled.addEventListener("change", sync);
  sync();
  return {
    element: fieldset,
    check() {
      if (enabled.checked) watched.check();
    },
    value() {
      if (!enabled.checked) return current ? null : undefined;
      const typed = value.value.trim();
      const number = parseNumber(typed);
      return {
        sensor: watched.sensor(),
        field: watched.field(),
        aggregate: aggregate.value,
        op: op.value,
        // Text that is not a number goes as is: the API's message says a number is needed.
        value: number === null ? typed : number,
        period: period.value || null,
      };
    },
    reset() {
      enabled.checked = Boolean(current);
      sync();
    },
  };
}
