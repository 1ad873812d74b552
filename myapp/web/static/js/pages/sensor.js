// One sensor: a chart of /readings/stats, its readings page by page, exports.
import { download, get, withQuery } from "../api.js";
import { onLive } from "../live.js";
import { describeStats, statsChart } from "../chart.js";
import { announce, compactJson, field, formatTime, h, heading, select, table, tableRegion } from "../dom.js";
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

export async function render(main, { sensor }, query) {
  const state = {
    sensor,
    range: RANGES.some(([value]) => value === query.get("range")) ? query.get("range") : DEFAULT_RANGE,
    field: query.get("field") || "",
  };
  state.bucket = BUCKETS.includes(query.get("bucket")) ? query.get("bucket") : rangeOf(state.range)[3];

  const fieldSelect = select([], "", { name: "field" });
  const rangeSelect = select(RANGES.map(([value, label]) => [value, label]), state.range, { name: "range" });
  const bucketSelect = select(BUCKETS.map((value) => [value, value]), state.bucket, { name: "bucket" });
  const plot = h("div", { class: "chart" });
  const caption = h("figcaption", { "aria-live": "polite" });
  const chartSection = h(
    "section",
    { "aria-labelledby": "chart-title" },
    h("h2", { id: "chart-title" }, "Chart"),
    h(
      "form",
      { class: "controls" },
      field("Field", fieldSelect, { query: "field" }),
      field("Time range", rangeSelect, { query: "since" }),
      field("Bucket", bucketSelect, { query: "bucket", hint: "Each point: min, average and max over one bucket." }),
    ),
    h("figure", { class: "chart-figure" }, plot, caption),
  );
  const readings = readingsTable(state);
  const exports = exportSection(state);
  main.append(
    heading(sensor),
    h("p", {}, h("a", { href: "#/readings" }, "All sensors")),
    chartSection,
    readings.section,
    exports,
  );

  let removeChart = null;
  let draws = 0;
  const drawChart = () =>
    attempt(chartSection, async () => {
      const draw = ++draws;
      if (!state.field) {
        caption.textContent = "No numeric field in these readings to chart.";
        return;
      }
      const stats = await get(
        withQuery("/readings/stats", { sensor, field: state.field, bucket: state.bucket, since: sinceOf(state.range) }),
      );
      if (draw !== draws) return; // a newer choice is being drawn
      if (removeChart) removeChart();
      removeChart = stats.buckets.length ? statsChart(plot, stats) : null;
      caption.textContent = describeStats(stats);
    });

  const offerFields = (found) => {
    const fields = [...new Set([state.field, ...found].filter(Boolean))];
    state.field = state.field || fields[0] || "";
    fieldSelect.replaceChildren(...fields.map((name) => h("option", { value: name, selected: name === state.field }, name)));
  };

  const changed = (update) => async () => {
    update();
    keepInUrl(state);
    await drawChart();
  };
  fieldSelect.addEventListener("change", changed(() => (state.field = fieldSelect.value)));
  bucketSelect.addEventListener("change", changed(() => (state.bucket = bucketSelect.value)));
  rangeSelect.addEventListener("change", async () => {
    state.range = rangeSelect.value;
    state.bucket = rangeOf(state.range)[3];
    bucketSelect.value = state.bucket;
    keepInUrl(state);
    const [first] = await Promise.all([readings.reload(), state.field ? drawChart() : null]);
    if (!state.field) {
      offerFields(numericFields(first));
      await drawChart();
    }
  });

  // The chart comes first; without a field in the URL the table's readings name one.
  const fieldGiven = Boolean(state.field);
  if (fieldGiven) await drawChart();
  offerFields(numericFields(await readings.reload()));
  if (!fieldGiven) await drawChart();
  // The chart grows as this sensor's readings arrive.
  const stop = onLive((name, data) => {
    const ours = name === "readings" && data.items.some((item) => item.sensor === sensor);
    if (ours || name === "reset") drawChart();
  });
  return () => {
    stop();
    if (removeChart) removeChart();
  };
}

function rangeOf(value) {
  return RANGES.find(([name]) => name === value);
}

function sinceOf(range) {
  const back = rangeOf(range)[2];
  return back === null ? null : new Date(Date.now() - back).toISOString();
}

function keepInUrl(state) {
  const query = new URLSearchParams({ field: state.field, range: state.range, bucket: state.bucket });
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
