// A time-series chart of /readings/stats: the average inside its min-max band (uPlot).

const HEIGHT = 320;

/** Draw stats.buckets into container; returns a function that removes the chart. */
export function statsChart(container, stats) {
  const buckets = stats.buckets;
  const data = [
    buckets.map((bucket) => Date.parse(bucket.start) / 1000),
    buckets.map((bucket) => bucket.min),
    buckets.map((bucket) => bucket.avg),
    buckets.map((bucket) => bucket.max),
  ];
  let drawn = false;
  const options = {
    width: chartWidth(container),
    height: HEIGHT,
    scales: { x: { time: true } },
    series: [
      { label: "Time" },
      { label: "min", stroke: "#4a6fa5", width: 1 },
      { label: "avg", stroke: "#0b57d0", width: 2 },
      { label: "max", stroke: "#4a6fa5", width: 1 },
    ],
    bands: [{ series: [3, 1], fill: "rgba(11, 87, 208, 0.15)" }],
    axes: [{}, { label: stats.field, size: 60 }],
    hooks: {
      draw: [
        (chart) => {
          // What the chart holds, for people (via the caption) and tests alike.
          container.dataset.points = String(chart.data[0].length);
          if (!drawn) {
            drawn = true;
            performance.mark("chart-drawn");
          }
        },
      ],
    },
  };
  const chart = new window.uPlot(options, data, container);
  chart.root.querySelector(".u-wrap").setAttribute("aria-hidden", "true");
  container.chart = chart;
  const resize = new ResizeObserver(() => {
    const width = chartWidth(container);
    if (width !== chart.width) chart.setSize({ width, height: HEIGHT });
  });
  resize.observe(container);
  return () => {
    resize.disconnect();
    chart.destroy();
    delete container.chart;
    delete container.dataset.points;
  };
}

function chartWidth(container) {
  return Math.max(260, Math.floor(container.clientWidth));
}

/** One sentence for screen readers: how many buckets, when, and the extremes. */
export function describeStats(stats) {
  const buckets = stats.buckets;
  if (!buckets.length) return `No numeric values of ${stats.field} in this range.`;
  const low = Math.min(...buckets.map((bucket) => bucket.min));
  const high = Math.max(...buckets.map((bucket) => bucket.max));
  const count = buckets.reduce((sum, bucket) => sum + bucket.count, 0);
  const first = new Date(buckets[0].start).toLocaleString();
  const last = new Date(buckets[buckets.length - 1].start).toLocaleString();
  return (
    `${buckets.length} buckets of ${stats.bucket} (${count} values of ${stats.field}) ` +
    `from ${first} to ${last}; lowest ${low}, highest ${high}.`
  );
}
