// Small SVG charts, drawn by hand: no library, no network.

const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function text(parent, x, y, content, attrs = {}) {
  const node = el("text", { x, y, ...attrs }, parent);
  node.textContent = content;
  return node;
}

function scale(domainLow, domainHigh, rangeLow, rangeHigh) {
  const span = domainHigh - domainLow || 1;
  return (v) => rangeLow + ((v - domainLow) / span) * (rangeHigh - rangeLow);
}

export function formatNumber(value, digits = 2) {
  if (value === null || value === undefined) return "–";
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(digits);
}

// A line of the mean over time, over bars of the count. points: [{time, count, mean}].
// yRange: [low, high] for the mean axis (the key's range when known).
// previous: the same buckets of the period before (a dashed line), or null.
export function seriesChart(container, points, { yRange, bucketLabel, previous = null }) {
  container.replaceChildren();
  const width = 760;
  const height = 240;
  const pad = { left: 44, right: 44, top: 12, bottom: 28 };
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": "Mean score and feedback count over time",
    class: "series",
  }, container);
  if (!points.length) {
    text(svg, width / 2, height / 2, "No feedback in this window", { "text-anchor": "middle", class: "muted" });
    return svg;
  }
  const step = (width - pad.left - pad.right) / points.length;
  const maxCount = Math.max(1, ...points.map((p) => p.count));
  const means = points.filter((p) => p.mean !== null).map((p) => p.mean);
  let [low, high] = yRange || [Math.min(...means), Math.max(...means)];
  if (!Number.isFinite(low) || !Number.isFinite(high)) [low, high] = [0, 1];
  if (low === high) [low, high] = [low - 1, high + 1];
  const y = scale(low, high, height - pad.bottom, pad.top);
  const yCount = scale(0, maxCount, height - pad.bottom, pad.top);

  el("line", { x1: pad.left, x2: width - pad.right, y1: height - pad.bottom, y2: height - pad.bottom, class: "axis" }, svg);
  for (const value of [low, (low + high) / 2, high]) {
    el("line", { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: "grid" }, svg);
    text(svg, pad.left - 6, y(value) + 4, formatNumber(value), { "text-anchor": "end", class: "tick y" });
  }
  text(svg, width - pad.right + 6, yCount(maxCount) + 4, String(maxCount), { class: "tick count" });

  const bars = el("g", { class: "bars" }, svg);
  points.forEach((p, i) => {
    if (!p.count) return;
    const top = yCount(p.count);
    const bar = el("rect", {
      x: pad.left + i * step + step * 0.15,
      y: top,
      width: Math.max(1, step * 0.7),
      height: height - pad.bottom - top,
      "data-count": p.count,
    }, bars);
    el("title", {}, bar).textContent = `${bucketLabel(p.time)}: ${p.count} feedback`;
  });

  // The mean as a line, broken where a bucket has no scores.
  const line = (series) => {
    let path = "";
    let pen = false;
    series.forEach((p, i) => {
      if (p.mean === null) {
        pen = false;
        return;
      }
      const cx = pad.left + i * step + step / 2;
      path += `${pen ? "L" : "M"}${cx.toFixed(1)},${y(p.mean).toFixed(1)} `;
      pen = true;
    });
    return path.trim();
  };
  el("path", { d: line(points), class: "mean-line", fill: "none" }, svg);
  if (previous) {
    const shown = previous.slice(0, points.length);
    el("path", { d: line(shown), class: "previous-line", fill: "none", "data-points": shown.filter((p) => p.mean !== null).length }, svg);
  }
  const dots = el("g", { class: "points" }, svg);
  points.forEach((p, i) => {
    if (p.mean === null) return;
    const dot = el("circle", {
      cx: pad.left + i * step + step / 2,
      cy: y(p.mean),
      r: 3,
      "data-time": p.time,
      "data-mean": p.mean,
      "data-count": p.count,
    }, dots);
    el("title", {}, dot).textContent = `${bucketLabel(p.time)}: mean ${formatNumber(p.mean)} (${p.count})`;
  });

  const first = points[0].time;
  const last = points[points.length - 1].time;
  text(svg, pad.left, height - 8, bucketLabel(first), { class: "tick" });
  text(svg, width - pad.right, height - 8, bucketLabel(last), { "text-anchor": "end", class: "tick" });
  return svg;
}

// Bars of the distribution: [{low, high, count}], each with its count above it.
// labelFor(value): the name of a single value (a category, Yes/No), or null.
export function distributionChart(container, buckets, { labelFor = () => null } = {}) {
  container.replaceChildren();
  const width = 360;
  const height = 210;
  const pad = { left: 8, right: 8, top: 22, bottom: 30 };
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Score distribution: feedback per score", class: "distribution" }, container);
  if (!buckets.length) {
    text(svg, width / 2, height / 2, "No scores", { "text-anchor": "middle", class: "muted" });
    return svg;
  }
  const max = Math.max(...buckets.map((b) => b.count));
  const step = (width - pad.left - pad.right) / buckets.length;
  const y = scale(0, max || 1, height - pad.bottom, pad.top);
  el("line", { x1: pad.left, x2: width - pad.right, y1: height - pad.bottom, y2: height - pad.bottom, class: "axis" }, svg);
  buckets.forEach((b, i) => {
    const range = b.low === b.high ? formatNumber(b.low) : `${formatNumber(b.low)}–${formatNumber(b.high)}`;
    const label = (b.low === b.high && labelFor(b.low)) || range;
    const cx = pad.left + i * step + step / 2;
    const bar = el("rect", {
      x: pad.left + i * step + 2,
      y: y(b.count),
      width: Math.max(1, step - 4),
      height: height - pad.bottom - y(b.count),
      "data-count": b.count,
      "data-label": label,
    }, svg);
    el("title", {}, bar).textContent = `${label}: ${b.count} feedback`;
    if (buckets.length <= 20) {
      text(svg, cx, y(b.count) - 5, String(b.count), { "text-anchor": "middle", class: "tick count" });
    }
    if (buckets.length <= 12) {
      text(svg, cx, height - 12, label, { "text-anchor": "middle", class: "tick" });
    }
  });
  return svg;
}
