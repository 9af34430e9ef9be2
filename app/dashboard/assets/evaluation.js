// Online evaluation: the project's rules with their numbers, and for a chosen rule
// its mean score per day next to people's mean on the same runs and key. Loads when
// the dashboard has a key (the "plaudit:opened" event), from the public GraphQL API.

import { formatNumber } from "./charts.js";
import { query } from "./graphql.js";

const DAYS = 30;
const SVG = "http://www.w3.org/2000/svg";

const RULES_QUERY = `query EvaluationRules($after: DateTime) {
  evaluationRules {
    id name status key samplingRate
    counts { sampled evaluated skippedBudget failed pending }
    quality(after: $after) { meanScore agreement compared }
  }
}`;

const SERIES_QUERY = `query EvaluationSeries($id: ID!, $after: DateTime) {
  evaluationRule(id: $id) {
    id name key
    series(after: $after, bucket: DAY) {
      time quality { evaluated meanScore peopleMean compared agreement }
    }
  }
}`;

const $ = (id) => document.getElementById(id);
const state = { apiKey: null, selected: null };

function since() {
  const now = new Date();
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  day.setUTCDate(day.getUTCDate() - (DAYS - 1));
  return day;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function percent(value) {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`;
}

function renderRules(rules) {
  const rows = rules.map((rule) => {
    const tr = document.createElement("tr");
    tr.dataset.ruleId = rule.id;
    tr.setAttribute("aria-selected", String(rule.id === state.selected));
    const c = rule.counts;
    const q = rule.quality;
    tr.append(
      cell(rule.name),
      cell(rule.key || ""),
      cell(rule.status.toLowerCase(), rule.status === "PAUSED" ? "paused" : ""),
      cell(String(rule.samplingRate)),
      cell(String(c.sampled)),
      cell(String(c.evaluated)),
      cell(String(c.skippedBudget)),
      cell(String(c.failed)),
      cell(String(c.pending)),
      cell(formatNumber(q.meanScore)),
      cell(q.compared ? `${percent(q.agreement)} (${q.compared})` : "–"),
    );
    tr.querySelector("td:nth-child(10)").dataset.value = q.meanScore ?? "";
    tr.addEventListener("click", () => select(rule.id));
    return tr;
  });
  $("evaluation-rules").replaceChildren(...rows);
  $("evaluation").hidden = rules.length === 0;
}

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

// Two lines over the same days: the rule's mean and people's mean.
function drawChart(container, points) {
  container.replaceChildren();
  const width = 760;
  const height = 220;
  const pad = { left: 44, right: 16, top: 24, bottom: 28 };
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Rule and people mean per day" }, container);
  const values = points.flatMap((p) => [p.quality.meanScore, p.quality.peopleMean]).filter((v) => v !== null);
  if (!values.length) {
    const empty = el("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "muted" }, svg);
    empty.textContent = "No scored runs in this window";
    return;
  }
  let low = Math.min(0, ...values);
  let high = Math.max(1, ...values);
  if (low === high) [low, high] = [low - 1, high + 1];
  const step = (width - pad.left - pad.right) / points.length;
  const x = (i) => pad.left + i * step + step / 2;
  const y = (v) => height - pad.bottom - ((v - low) / (high - low)) * (height - pad.top - pad.bottom);
  for (const value of [low, (low + high) / 2, high]) {
    el("line", { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: "grid" }, svg);
    const tick = el("text", { x: pad.left - 6, y: y(value) + 4, "text-anchor": "end", class: "tick" }, svg);
    tick.textContent = formatNumber(value);
  }
  for (const [series, field, label] of [["rule", "meanScore", "rule"], ["people", "peopleMean", "people"]]) {
    let path = "";
    let pen = false;
    points.forEach((p, i) => {
      const value = p.quality[field];
      if (value === null) {
        pen = false;
        return;
      }
      path += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(value).toFixed(1)} `;
      pen = true;
      const dot = el("circle", { cx: x(i), cy: y(value), r: 3, class: series, "data-series": series, "data-time": p.time, "data-mean": value }, svg);
      el("title", {}, dot).textContent = `${p.time.slice(0, 10)}: ${label} ${formatNumber(value)}`;
    });
    el("path", { d: path.trim(), class: `${series}-line` }, svg);
  }
  const legend = el("text", { x: pad.left, y: 14, class: "legend" }, svg);
  legend.textContent = "— rule   - - people (same runs)";
  const first = el("text", { x: pad.left, y: height - 8, class: "tick" }, svg);
  first.textContent = points[0].time.slice(0, 10);
  const last = el("text", { x: width - pad.right, y: height - 8, "text-anchor": "end", class: "tick" }, svg);
  last.textContent = points[points.length - 1].time.slice(0, 10);
}

async function select(ruleId) {
  state.selected = ruleId;
  for (const tr of $("evaluation-rules").querySelectorAll("tr")) {
    tr.setAttribute("aria-selected", String(tr.dataset.ruleId === ruleId));
  }
  const data = await query(state.apiKey, SERIES_QUERY, { id: ruleId, after: since().toISOString() });
  const rule = data.evaluationRule;
  if (!rule) return;
  $("evaluation-rule-name").textContent = `${rule.name} (${rule.key})`;
  $("evaluation-detail").hidden = false;
  drawChart($("evaluation-chart"), rule.series);
  $("evaluation-chart").dataset.ruleId = rule.id;
}

async function load() {
  const data = await query(state.apiKey, RULES_QUERY, { after: since().toISOString() });
  renderRules(data.evaluationRules);
  $("evaluation").dataset.loaded = "true";
}

document.addEventListener("plaudit:opened", (event) => {
  state.apiKey = event.detail.apiKey;
  load().catch((error) => {
    $("evaluation").hidden = true;
    console.warn("evaluation rules:", error.message);
  });
});

document.addEventListener("plaudit:closed", () => {
  state.apiKey = null;
  state.selected = null;
  $("evaluation").hidden = true;
  $("evaluation-detail").hidden = true;
});
