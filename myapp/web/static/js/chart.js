// A time-series chart of /readings/stats (uPlot): one aggregate per bucket, the
// average inside its min-max band, alert thresholds as lines; times on the axis
// and in the readout in the user's zone and the browser's locale (format.js).
import { formatMinute, formatNumber, formatTicks, timeZone } from "./format.js";

const HEIGHT = 320;
const PHONE_HEIGHT = 220;
const THRESHOLD_COLOUR = "#b3261e";
// What each bucket shows; the average is drawn inside its min-max band.
export const AGGREGATES = [
  ["avg", "Average"],
  ["sum", "Sum"],
  ["min", "Minimum"],
  ["max", "Maximum"],
  ["count", "Count"],
];
// Units for field names that say them; anything else is labelled by its name.
const UNITS = { celsius: "°C", fahrenheit: "°F", humidity: "%", percent: "%", kwh: "kWh", watts: "W", steps: "steps" };

/** The y axis label: "avg of celsius (°C)". */
export function valueLabel(field, aggregate) {
  const unit = aggregate === "count" ? null : UNITS[field.toLowerCase()];
  return `${aggregate} of ${field}${unit && unit !== field ? ` (${unit})` : ""}`;
}

/**
 * Draw stats.buckets into container, aggregate chosen, threshold lines at
 * thresholds ([{value, label}]); onZoom(fromSeconds, toSeconds) or (null, null)
 * when the whole range shows again. Returns {remove, resetZoom}.
 */
export function statsChart(container, stats, { aggregate = "avg", thresholds = [], onZoom, readout }) {
  const buckets = stats.buckets;
  const times = buckets.map((bucket) => Date.parse(bucket.start) / 1000);
  const band = aggregate === "avg";
  const series = band
    ? [
        { label: "min", stroke: "#4a6fa5", width: 1 },
        { label: "avg", stroke: "#0b57d0", width: 2 },
        { label: "max", stroke: "#4a6fa5", width: 1 },
      ]
    : [{ label: aggregate, stroke: "#0b57d0", width: 2 }];
  const data = [times, ...series.map(({ label }) => buckets.map((bucket) => bucket[label]))];
  const zone = timeZone();
  let drawn = false;
  let zoomed = false;
  const options = {
    width: chartWidth(container),
    height: chartHeight(),
    tzDate: (seconds) => window.uPlot.tzDate(new Date(seconds * 1000), zone),
    legend: { show: false },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, y: { range: (chart, low, high) => rangeWith(low, high, thresholds) } },
    series: [{ label: "Time" }, ...series],
    bands: band ? [{ series: [3, 1], fill: "rgba(11, 87, 208, 0.15)" }] : [],
    axes: [
      { values: (chart, splits, axis, space, spacing) => formatTicks(splits, spacing) },
      { label: valueLabel(stats.field, aggregate), size: 60, values: (chart, splits) => splits.map((v) => formatNumber(v)) },
    ],
    hooks: {
      draw: [
        (chart) => {
          drawThresholds(chart, thresholds);
          // What the chart holds, for people (via the caption) and tests alike.
          container.dataset.points = String(chart.data[0].length);
          if (!drawn) {
            drawn = true;
            performance.mark("chart-drawn");
          }
        },
      ],
      setScale: [
        (chart, key) => {
          if (key !== "x" || !onZoom) return;
          const { min, max } = chart.scales.x;
          zoomed = times.length > 0 && (min > times[0] || max < times[times.length - 1]);
          if (zoomed) onZoom(min, max);
          else onZoom(null, null);
        },
      ],
      setCursor: [(chart) => showValue(chart, readout, series)],
    },
  };
  const chart = new window.uPlot(options, data, container);
  chart.root.querySelector(".u-wrap").setAttribute("aria-hidden", "true");
  container.chart = chart;
  // A tap on a phone shows the value under the finger, as hovering does.
  chart.over.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse") return;
    const box = chart.over.getBoundingClientRect();
    chart.setCursor({ left: event.clientX - box.left, top: event.clientY - box.top });
  });
  const resize = new ResizeObserver(() => {
    const width = chartWidth(container);
    if (width !== chart.width) chart.setSize({ width, height: chartHeight() });
  });
  resize.observe(container);
  return {
    remove() {
      resize.disconnect();
      chart.destroy();
      delete container.chart;
      delete container.dataset.points;
    },
    resetZoom() {
      if (times.length) chart.setScale("x", { min: times[0], max: times[times.length - 1] });
    },
    zoomTo(from, to) {
      chart.setScale("x", { min: from, max: to });
    },
  };
}

function rangeWith(low, high, thresholds) {
  const values = [low, high, ...thresholds.map((line) => line.value)].filter((v) => v !== null && Number.isFinite(v));
  if (!values.length) return [0, 1];
  const min = Math.min(...values);
  const max = Math.max(...values);
  const pad = (max - min) * 0.05 || Math.abs(max) * 0.05 || 1;
  return [min - pad, max + pad];
}

function drawThresholds(chart, thresholds) {
  const { ctx, bbox } = chart;
  ctx.save();
  ctx.strokeStyle = THRESHOLD_COLOUR;
  ctx.fillStyle = THRESHOLD_COLOUR;
  ctx.lineWidth = 2 * devicePixelRatio;
  ctx.setLineDash([8 * devicePixelRatio, 6 * devicePixelRatio]);
  ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
  for (const line of thresholds) {
    const y = Math.round(chart.valToPos(line.value, "y", true));
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
    ctx.fillText(line.label, bbox.left + 4 * devicePixelRatio, y - 4 * devicePixelRatio);
  }
  ctx.restore();
}

function showValue(chart, readout, series) {
  if (!readout) return;
  const index = chart.cursor.idx;
  if (index === null || index === undefined) return;
  const at = new Date(chart.data[0][index] * 1000).toISOString();
  const values = series.map(({ label }, i) => `${label} ${formatNumber(chart.data[i + 1][index])}`);
  readout.textContent = `${formatMinute(at)}: ${values.join(", ")}`;
}

function chartWidth(container) {
  return Math.max(260, Math.floor(container.clientWidth));
}

function chartHeight() {
  return window.matchMedia("(max-width: 40rem)").matches ? PHONE_HEIGHT : HEIGHT;
}

/** One sentence for screen readers: how many buckets, when, and the extremes, within [from, to] seconds if zoomed. */
export function describeStats(stats, aggregate = "avg", from = null, to = null) {
  const buckets = stats.buckets.filter((bucket) => {
    const at = Date.parse(bucket.start) / 1000;
    return (from === null || at >= from) && (to === null || at <= to);
  });
  if (!buckets.length) return `No numeric values of ${stats.field} in this range.`;
  const lows = buckets.map((bucket) => (aggregate === "avg" ? bucket.min : bucket[aggregate]));
  const highs = buckets.map((bucket) => (aggregate === "avg" ? bucket.max : bucket[aggregate]));
  const count = buckets.reduce((sum, bucket) => sum + bucket.count, 0);
  const first = formatMinute(buckets[0].start);
  const last = formatMinute(buckets[buckets.length - 1].start);
  const per = aggregate === "avg" ? "" : `, ${aggregate} per bucket`;
  return (
    `${formatNumber(buckets.length)} buckets of ${stats.bucket} (${formatNumber(count)} values of ${stats.field}${per}) ` +
    `from ${first} to ${last}${from === null ? "" : " (zoomed)"}; ` +
    `lowest ${formatNumber(Math.min(...lows))}, highest ${formatNumber(Math.max(...highs))}.`
  );
}
