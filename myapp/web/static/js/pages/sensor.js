// One sensor: a chart of /readings/stats, its readings page by page, exports.
import { download, get, withQuery } from "../api.js";
import { onLive } from "../live.js";
import { AGGREGATES, describeStats, statsChart } from "../chart.js";
import { announce, compactJson, field, formatTime, h, heading, select, table, tableRegion } from "../dom.js";
import { formatNumber, timeZone } from "../format.js";
import { namesFor, numericFields, sentBy } from "../lookups.js";
import { attempt } from "../problems.js";

const PAGE_SIZE = 50;
// [value, label, milliseconds back from now, the bucket that suits it]
const RANGES = [
  ["1h", "Last hour", 3600e3, "1m"],
  ["6h", "Last 6 hours", 6 * 3600e3, "5m"],
  ["24h", "Last 24 hours", 86400e3, "15m"],
  ["7d", "Last 7 days", 7 * 86400e3, "1h"],
  ["30d", "Last 30 days", 30 * 86400e3, "6h"],
  ["1y", "Last year", 365 * 86400e3, "1d"],
  ["all", "All time", null, "1d"],
];
const BUCKETS = ["1m", "5m", "15m", "1h", "6h", "1d"];
const DEFAULT_RANGE = "7d";
const ZOOM_HINT = "Drag across the chart to zoom in; tap or point at it for a bucket's values.";

export async function render(main, { sensor }, query) {
  main.append(heading(sensor), h("p", {}, h("a", { href: "#/readings" }, "All sensors")));
  const state = {
    sensor,
    range: RANGES.some(([value]) => value === query.get("range")) ? query.get("range") : DEFAULT_RANGE,
    field: query.get("field") || "",
    aggregate: AGGREGATES.some(([value]) => value === query.get("agg")) ? query.get("agg") : "avg",
  };
  state.bucket = BUCKETS.includes(query.get("bucket")) ? query.get("bucket") : rangeOf(state.range)[3];
  // A link that names the field gets its chart's numbers while the rest loads.
  const early = state.field ? get(statsPath(state)) : null;
  if (early) early.catch(() => {}); // drawn (and any error shown) below
  // Its newest reading (does the sensor exist, which fields) and the rules drawn on its chart.
  const [latest, rulePage] = await Promise.all([
    get(withQuery("/readings/latest", { sensor })),
    get(withQuery("/alerts/", { limit: 1000 })),
  ]);
  if (!latest.items.length) {
    main.append(
      h("p", { class: "notice notice-info", role: "status" }, `There is no sensor named “${sensor}”: no reading of it is stored.`),
    );
    return null;
  }

  const chart = chartSection(state);
  const readings = readingsTable(state);
  main.append(chart.section, readings.section, exportSection(state));
  // The newest reading names the fields at once; the table's page adds any it lacks.
  const known = new Set(numericFields(latest.items));
  chart.offerFields([...known], { settled: false });
  chart.showRules(rulePage.items);
  const [first] = await Promise.all([readings.reload(), chart.draw(early)]);
  const offerFields = (items) => {
    for (const name of numericFields(items)) known.add(name);
    chart.offerFields([...known], { settled: true });
  };
  offerFields(first);
  chart.onRangeChange(async () => offerFields(await readings.reload()));
  // The chart grows as this sensor's readings arrive; rules' states follow their events.
  const stop = onLive((name, data) => {
    const ours = name === "readings" && data.items.some((item) => item.sensor === sensor);
    if (ours || name === "reset") chart.grow();
    if (name === "alert" || name === "reset") chart.loadRules().then(() => chart.grow());
  });
  return () => {
    stop();
    chart.remove();
  };
}

/** The chart with its controls, zoom, readout, rules and caption. */
function chartSection(state) {
  const fieldSelect = select([], "", { name: "field" });
  const rangeSelect = select(RANGES.map(([value, label]) => [value, label]), state.range, { name: "range" });
  const bucketSelect = select(BUCKETS.map((value) => [value, value]), state.bucket, { name: "bucket" });
  const aggregateSelect = select(AGGREGATES, state.aggregate, { name: "agg" });
  const plot = h("div", { class: "chart" });
  const caption = h("figcaption", { "aria-live": "polite" });
  const readout = h("p", { class: "chart-readout", "aria-live": "polite" });
  const fieldNote = h("p", { class: "notice notice-error", role: "alert", hidden: true });
  const reset = h("button", { type: "button", hidden: true }, "Reset zoom");
  const rulesLine = h("ul", { class: "chart-rules plain", "aria-label": "Alert rules on this sensor" });
  const section = h(
    "section",
    { "aria-labelledby": "chart-title", class: "chart-section" },
    h("h2", { id: "chart-title", class: "visually-hidden" }, "Chart"),
    fieldNote,
    h(
      "form",
      { class: "controls compact" },
      field("Field", fieldSelect, { query: "field" }),
      field("Per bucket", aggregateSelect),
      field("Time range", rangeSelect, { query: "since" }),
      field("Bucket", bucketSelect, { query: "bucket" }),
    ),
    h(
      "figure",
      { class: "chart-figure" },
      plot,
      h("div", { class: "chart-tools" }, h("p", { class: "hint" }, ZOOM_HINT), reset),
      readout,
      caption,
    ),
    rulesLine,
  );
  let rules = [];
  let stats = null;
  let drawn = null;
  let draws = 0;
  // The zoomed range [from, to] in seconds, kept while new readings redraw the chart.
  let zoom = null;
  const zoomTo = (from, to) => {
    zoom = from === null ? null : [from, to];
    reset.hidden = from === null;
    if (stats) caption.textContent = describeStats(stats, state.aggregate, from, to);
  };
  reset.addEventListener("click", () => drawn && drawn.resetZoom());
  /** Draw the chart of the state's choices (from `prefetched`, the answer already asked for them). */
  const draw = (prefetched = null, { keepZoom = false } = {}) =>
    attempt(section, async () => {
      const kept = keepZoom ? zoom : null;
      const ticket = ++draws;
      if (!state.field) {
        caption.textContent = "No numeric field in these readings to chart.";
        return;
      }
      const answer = await (prefetched || get(statsPath(state)));
      if (ticket !== draws) return; // a newer choice is being drawn
      if (drawn) drawn.remove();
      stats = answer;
      const thresholds = ["avg", "min", "max"].includes(state.aggregate) ? thresholdsOf(rules, state.field) : [];
      drawn = stats.buckets.length
        ? statsChart(plot, stats, { aggregate: state.aggregate, thresholds, onZoom: zoomTo, readout })
        : null;
      zoomTo(null, null);
      if (drawn && kept) drawn.zoomTo(...kept);
    });
  const changed = (update) => async () => {
    update();
    keepInUrl(state);
    await draw();
  };
  fieldSelect.addEventListener("change", changed(() => (state.field = fieldSelect.value)));
  bucketSelect.addEventListener("change", changed(() => (state.bucket = bucketSelect.value)));
  aggregateSelect.addEventListener("change", changed(() => (state.aggregate = aggregateSelect.value)));
  let rangeListener = null;
  rangeSelect.addEventListener("change", async () => {
    state.range = rangeSelect.value;
    state.bucket = rangeOf(state.range)[3];
    bucketSelect.value = state.bucket;
    keepInUrl(state);
    await Promise.all([draw(), rangeListener && rangeListener()]);
  });
  return {
    section,
    draw,
    /** New readings arrived: redraw, keeping the zoom. */
    grow: () => draw(null, { keepZoom: true }),
    onRangeChange(listener) {
      rangeListener = listener;
    },
    /** The fields the readings have; a field the link named that they lack is said, not offered. */
    offerFields(found, { settled }) {
      if (settled && state.field && found.length && !found.includes(state.field)) {
        fieldNote.textContent = `This sensor's readings have no numeric field “${state.field}”; choose one of: ${found.join(", ")}.`;
        fieldNote.hidden = false;
        state.field = found[0];
        keepInUrl(state);
        draw();
      }
      state.field = state.field || found[0] || "";
      const offered = found.includes(state.field) || !state.field ? found : [state.field, ...found];
      fieldSelect.replaceChildren(...offered.map((name) => h("option", { value: name, selected: name === state.field }, name)));
    },
    async loadRules() {
      this.showRules((await get(withQuery("/alerts/", { limit: 1000 }))).items);
    },
    showRules(items) {
      rules = items.filter((rule) => rule.sensor === state.sensor);
      rulesLine.replaceChildren(
        ...rules.map((rule) =>
          h(
            "li",
            { dataset: { ruleId: rule.id } },
            h("a", { href: `#/alerts/${rule.id}` }, rule.name),
            ": ",
            h("span", { class: `state state-${rule.state}` }, rule.state === "firing" ? "Firing" : "OK"),
          ),
        ),
      );
    },
    remove() {
      if (drawn) drawn.remove();
    },
  };
}

/** Lines for the threshold rules on field: "Too warm: above 30". */
function thresholdsOf(rules, fieldName) {
  const lines = [];
  for (const rule of rules) {
    const condition = rule.condition;
    if (condition.type !== "threshold" || condition.field !== fieldName) continue;
    for (const side of ["above", "below"]) {
      if (condition[side] !== undefined && condition[side] !== null) {
        lines.push({ value: condition[side], label: `${rule.name}: ${side} ${formatNumber(condition[side])}` });
      }
    }
  }
  return lines;
}

/** GET /readings/stats for the state's choices, bucketed in the user's zone. */
function statsPath(state) {
  const { sensor, field: name, bucket } = state;
  return withQuery("/readings/stats", { sensor, field: name, bucket, tz: timeZone(), since: sinceOf(state.range) });
}

function rangeOf(value) {
  return RANGES.find(([name]) => name === value);
}

function sinceOf(range) {
  const back = rangeOf(range)[2];
  return back === null ? null : new Date(Date.now() - back).toISOString();
}

function keepInUrl(state) {
  const query = new URLSearchParams({ field: state.field, agg: state.aggregate, range: state.range, bucket: state.bucket });
  history.replaceState(null, "", `#/readings/${encodeURIComponent(state.sensor)}?${query}`);
}

/** The sensor's readings in the range, newest first, 50 a page (keyset cursors). */
function readingsTable(state) {
  const list = table(["Recorded", "Data", "Sent by", "Id"], [], "Readings, newest first");
  const body = list.tBodies[0];
  const newer = h("button", { type: "button", disabled: true }, "Newer");
  const older = h("button", { type: "button", disabled: true }, "Older");
  const position = h("p", { class: "page-position", "aria-live": "polite" });
  const section = h(
    "section",
    { "aria-labelledby": "readings-title" },
    h("h2", { id: "readings-title" }, "Readings"),
    tableRegion("Readings", list),
    h("div", { class: "pager" }, newer, older, position),
  );
  // cursors[i] opens page i; the first page has none.
  let cursors = [null];
  let index = 0;
  let items = [];
  // Fixed per reload, so every page of one walk has the same time window.
  let since = null;

  let shows = 0;
  /** Show page `target`; the buttons are off while it loads, and a failure keeps the page shown. */
  const show = async (target) => {
    const shown = ++shows;
    newer.disabled = older.disabled = true;
    await attempt(section, async () => {
      const page = await get(
        withQuery("/readings/", { sensor: state.sensor, since, limit: PAGE_SIZE, cursor: cursors[target] }),
      );
      const names = await namesFor(page.items);
      if (shown !== shows) return; // a newer page was asked for meanwhile
      index = target;
      items = page.items;
      cursors[index + 1] = page.next_cursor;
      body.replaceChildren(...items.map((reading) => row(reading, names)));
      const first = index * PAGE_SIZE + 1;
      position.textContent = items.length
        ? `Readings ${first} to ${first + items.length - 1}`
        : "No readings in this range.";
    });
    if (shown !== shows) return;
    newer.disabled = index === 0;
    older.disabled = !cursors[index + 1];
  };
  // The position line is a live region: it says which readings are shown.
  newer.addEventListener("click", () => show(index - 1));
  older.addEventListener("click", () => show(index + 1));
  return {
    section,
    async reload() {
      cursors = [null];
      index = 0;
      since = sinceOf(state.range);
      await show(0);
      return items;
    },
  };
}

function row(reading, names) {
  return h(
    "tr",
    { dataset: { id: reading.id } },
    h("td", {}, h("time", { datetime: reading.recorded_at }, formatTime(reading.recorded_at))),
    h("td", {}, h("code", {}, compactJson(reading.data))),
    h("td", {}, sentBy(reading.device_id, names)),
    h("td", {}, String(reading.id)),
  );
}

/** CSV and NDJSON of every reading of the sensor in the range (streamed by the API). */
function exportSection(state) {
  const section = h(
    "section",
    { "aria-labelledby": "export-title" },
    h("h2", { id: "export-title" }, "Export"),
    h("p", {}, "Every reading of this sensor in the chosen time range, as a file."),
  );
  const button = (format, label) => {
    const element = h("button", { type: "button" }, label);
    element.addEventListener("click", () =>
      attempt(section, async () => {
        element.disabled = true;
        try {
          const query = { sensor: state.sensor, since: sinceOf(state.range), format };
          const file = await download(withQuery("/readings/export", query), "*/*");
          save(file);
          announce(`Downloaded ${file.filename}`);
        } finally {
          element.disabled = false;
        }
      }),
    );
    return element;
  };
  section.append(h("div", { class: "actions" }, button("csv", "Download CSV"), button("ndjson", "Download NDJSON")));
  return section;
}

function save({ blob, filename }) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60000);
}
