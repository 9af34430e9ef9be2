// The Plaudit dashboard: one key, one window; the numbers all come from the
// public GraphQL API, and live events refresh them.

import { distributionChart, formatNumber, seriesChart } from "./charts.js";
import { save, toCsv, toJsonLines } from "./download.js";
import { query, Subscription } from "./graphql.js";
import { inputPreview, pretty } from "./runs.js";

const STORAGE_KEY = "plaudit.apiKey";
const WINDOWS = {
  "24h": { bucket: "HOUR", count: 24 },
  "7d": { bucket: "DAY", count: 7 },
  "30d": { bucket: "DAY", count: 30 },
  "90d": { bucket: "DAY", count: 90 },
};
const GROUPS = {
  MODEL: { name: "model", field: "model" },
  TAG: { name: "tag", field: "tag" },
  USER: { name: "user", field: "userId" },
};
const NUMBERS = "count scored mean min max p50 p90 stddev positive negative positiveShare negativeShare";

// How each key's scores read (kind, range, threshold): registered or inferred.
const KEYS_QUERY = `query DashboardKeys($after: DateTime) {
  feedbackKeyRules { key kind registered min max threshold higherIsBetter categories { value label } }
  seen: feedbackStats(filter: {after: $after}, groupBy: [{dimension: KEY}], limit: 200) {
    groups { key count }
  }
}`;

const BOARD_QUERY = `query Dashboard($filter: FeedbackStatsFilter!, $bucket: TimeBucket!) {
  summary: feedbackStats(filter: $filter, comments: 10) {
    source
    groups {
      ${NUMBERS}
      labels { label count }
      distribution { low high count }
      comments { id runId comment score userId createdAt }
    }
  }
  series: feedbackStats(filter: $filter, groupBy: [{dimension: TIME, bucket: $bucket}]) {
    source
    groups { time count scored mean positive negative positiveShare negativeShare }
  }
}`;

// The period before, for comparison: the same numbers and buckets.
const PREVIOUS_QUERY = `query Previous($filter: FeedbackStatsFilter!, $bucket: TimeBucket!) {
  summary: feedbackStats(filter: $filter, comments: 0) { groups { ${NUMBERS} } }
  series: feedbackStats(filter: $filter, groupBy: [{dimension: TIME, bucket: $bucket}]) {
    groups { time mean }
  }
}`;

const BREAKDOWN_QUERY = `query Breakdown($filter: FeedbackStatsFilter!, $by: StatsDimension!) {
  groups: feedbackStats(filter: $filter, groupBy: [{dimension: $by}], comments: 0, limit: 50) {
    truncated
    groups { model tag userId other ${NUMBERS} }
  }
}`;

// Worst runs aggregate the window's raw feedback: asked for separately, so the
// charts (read from rollups) never wait for them.
const WORST_QUERY = `query WorstRuns($keys: [String!], $after: DateTime) {
  worst: worstRuns(keys: $keys, after: $after, first: 10, comments: 2) {
    runId negative positive negativeShare lastFeedbackAt
    comments { comment }
    run { name inputs }
  }
}`;

const RUN_QUERY = `query RunFeedback($runId: ID!) {
  run(id: $runId) { id name model tags inputs outputs startTime }
  feedback(filter: {runIds: [$runId]}, first: 100) {
    nodes { id key score comment userId createdAt retracted }
  }
}`;

const EVENTS = `subscription DashboardEvents($keys: [String!]) {
  feedbackEvents(keys: $keys) { kind at feedback { id key } }
}`;

const $ = (id) => document.getElementById(id);

const state = {
  apiKey: null,
  rules: new Map(), // key -> how its scores read (feedbackKeyRules)
  subscription: null,
  refreshTimer: null,
  liveEvents: 0,
  view: null, // what the board shows, for downloads
};

function windowStart(choice) {
  const { bucket, count } = WINDOWS[choice];
  const now = new Date();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), bucket === "HOUR" ? now.getUTCHours() : 0));
  if (bucket === "HOUR") start.setUTCHours(start.getUTCHours() - (count - 1));
  else start.setUTCDate(start.getUTCDate() - (count - 1));
  return start;
}

// The period before the window, as long as the window's buckets.
function previousStart(choice, start) {
  const { bucket, count } = WINDOWS[choice];
  const before = new Date(start);
  if (bucket === "HOUR") before.setUTCHours(before.getUTCHours() - count);
  else before.setUTCDate(before.getUTCDate() - count);
  return before;
}

function bucketLabel(bucket) {
  return (iso) => {
    const date = new Date(iso);
    return bucket === "HOUR" ? `${iso.slice(5, 10)} ${String(date.getUTCHours()).padStart(2, "0")}:00` : iso.slice(0, 10);
  };
}

function percent(value) {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`;
}

function showError(element, error) {
  element.textContent = error ? String(error.message || error) : "";
  element.hidden = !error;
}

function setStat(name, value, formatted) {
  const node = document.querySelector(`[data-stat="${name}"]`);
  node.textContent = formatted;
  node.dataset.value = value === null || value === undefined ? "" : String(value);
}

function item(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

const EMPTY = { count: 0, scored: 0, mean: null, min: null, max: null, p50: null, p90: null, stddev: null, positive: 0, negative: 0, positiveShare: null, negativeShare: null, distribution: [], labels: [], comments: [] };
const SHARES = new Set(["positiveShare", "negativeShare"]);

function show(name, value) {
  return SHARES.has(name) ? percent(value) : name === "count" ? String(value) : formatNumber(value);
}

// "was 0.71 (+0.05)"; shares in percentage points.
function delta(name, now, before) {
  if (before === null || before === undefined) return "was –";
  const was = `was ${show(name, before)}`;
  if (now === null || now === undefined) return was;
  const change = SHARES.has(name) ? (now - before) * 100 : now - before;
  const sign = change > 0 ? "+" : change < 0 ? "−" : "±";
  const size = SHARES.has(name) ? `${Math.abs(change).toFixed(1)} pts` : name === "count" ? String(Math.abs(change)) : formatNumber(Math.abs(change));
  return `${was} (${sign}${size})`;
}

function renderSummary(group, previous) {
  const g = group || EMPTY;
  for (const name of ["count", "mean", "positiveShare", "negativeShare", "p50", "p90", "stddev"]) {
    setStat(name, g[name], show(name, g[name]));
    const node = document.querySelector(`[data-delta="${name}"]`);
    node.hidden = !previous;
    node.textContent = previous ? delta(name, g[name], (previous || EMPTY)[name]) : "";
    node.dataset.value = previous && previous[name] !== null ? String(previous[name]) : "";
  }
  distributionChart($("distribution-chart"), g.distribution, { labelFor: valueLabel($("key-select").value) });
  $("labels").replaceChildren(...g.labels.map((l) => item("li", `${l.label}: ${l.count}`)));
  $("comments").replaceChildren(
    ...g.comments.map((c) => {
      const li = document.createElement("li");
      li.dataset.feedbackId = c.id;
      li.appendChild(item("q", c.comment));
      const meta = item("span", ` ${c.userId || "anonymous"} · ${c.createdAt.slice(0, 16).replace("T", " ")} · `, "meta");
      const link = item("a", "run");
      link.href = `#run=${encodeURIComponent(c.runId)}`;
      meta.appendChild(link);
      li.appendChild(meta);
      return li;
    }),
  );
  if (!g.comments.length) $("comments").appendChild(item("li", "No comments in this window", "muted"));
}

function renderWorst(runs) {
  const rows = runs.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.runId = r.runId;
    const cell = document.createElement("td");
    const link = item("a", (r.run && r.run.name) || r.runId.slice(0, 8));
    link.href = `#run=${encodeURIComponent(r.runId)}`;
    link.title = r.runId;
    cell.appendChild(link);
    tr.appendChild(cell);
    tr.appendChild(item("td", r.run ? inputPreview(r.run.inputs) : "", "input"));
    tr.appendChild(item("td", String(r.negative)));
    tr.appendChild(item("td", String(r.positive)));
    tr.appendChild(item("td", percent(r.negativeShare)));
    tr.appendChild(item("td", r.comments.map((c) => c.comment).join(" · ")));
    return tr;
  });
  $("worst-runs").replaceChildren(...rows);
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = item("td", "No negative feedback in this window", "muted");
    td.colSpan = 6;
    tr.appendChild(td);
    $("worst-runs").appendChild(tr);
  }
}

// The y-axis: the key's range when known (registered, or 0..1 for a boolean
// key), else the scores seen.
function yRangeFor(key, summary, means) {
  const rule = state.rules.get(key);
  if (rule && rule.min !== null && rule.max !== null) return [rule.min, rule.max];
  const seen = [summary && summary.min, summary && summary.max, ...means].filter((v) => v !== null && v !== undefined);
  return seen.length ? [Math.min(...seen), Math.max(...seen)] : null;
}

// A single score's name: a category's label, Yes/No for a boolean key.
function valueLabel(key) {
  const rule = state.rules.get(key);
  return (value) => {
    if (!rule) return null;
    if (rule.kind === "BOOLEAN") return value === 1 ? "Yes (1)" : value === 0 ? "No (0)" : null;
    const category = rule.categories.find((c) => c.value === value);
    return category ? category.label : null;
  };
}

function describeRule(key) {
  const rule = state.rules.get(key);
  if (!rule) return "";
  const kind = rule.kind.toLowerCase();
  const how = rule.registered ? kind : `${kind}, inferred (unregistered)`;
  if (rule.threshold === null) return `${key}: ${how}; neither positive nor negative`;
  const better = rule.higherIsBetter ? "above" : "below";
  return `${key}: ${how}; positive ${better} ${formatNumber(rule.threshold)}`;
}

function groupValue(by, group) {
  if (group.other) return "(other)"; // values beyond the grouped rollups' bound
  const value = group[GROUPS[by].field];
  return value === null || value === undefined ? "(none)" : value;
}

function renderBreakdown(by, result, previous) {
  const panel = $("breakdown-panel");
  panel.hidden = !by;
  if (!by) return;
  $("breakdown-name").textContent = GROUPS[by].name;
  $("breakdown-note").textContent = result.truncated ? "the 50 largest groups" : "";
  const before = new Map((previous ? previous.groups : []).map((g) => [groupValue(by, g), g]));
  const head = ["Group", "Feedback", "Mean", "Positive", "Negative"];
  if (previous) head.push("Mean before", "Positive before", "Negative before");
  $("breakdown-head").replaceChildren(...head.map((h) => item("th", h)));
  $("breakdown").replaceChildren(...result.groups.map((g) => {
    const tr = document.createElement("tr");
    const value = groupValue(by, g);
    tr.dataset.group = value;
    const cells = [value, String(g.count), formatNumber(g.mean), percent(g.positiveShare), percent(g.negativeShare)];
    if (previous) {
      const p = before.get(value) || EMPTY;
      cells.push(formatNumber(p.mean), percent(p.positiveShare), percent(p.negativeShare));
    }
    for (const cell of cells) tr.appendChild(item("td", cell));
    return tr;
  }));
}

// The rows a download holds: the groups when grouped, else the time buckets.
function viewRows(view) {
  const base = { key: view.key, windowStart: view.after, windowEnd: view.until };
  const numbers = NUMBERS.split(" ");
  if (view.by) {
    const dimension = GROUPS[view.by].name;
    const before = new Map((view.previousGroups || []).map((g) => [groupValue(view.by, g), g]));
    const columns = ["key", "windowStart", "windowEnd", dimension, ...numbers];
    if (view.previousGroups) columns.push("previousCount", "previousMean", "previousPositiveShare", "previousNegativeShare");
    const rows = view.groups.map((g) => {
      const row = { ...base, [dimension]: groupValue(view.by, g) === "(none)" ? null : groupValue(view.by, g) };
      for (const n of numbers) row[n] = g[n];
      const p = before.get(groupValue(view.by, g));
      if (view.previousGroups) Object.assign(row, { previousCount: p ? p.count : 0, previousMean: p ? p.mean : null, previousPositiveShare: p ? p.positiveShare : null, previousNegativeShare: p ? p.negativeShare : null });
      return row;
    });
    return { columns, rows };
  }
  const columns = ["key", "time", "count", "scored", "mean", "positive", "negative", "positiveShare", "negativeShare"];
  if (view.previousSeries) columns.push("previousMean");
  const rows = view.series.map((g, i) => {
    const row = { key: view.key };
    for (const c of columns.slice(1)) row[c] = g[c];
    if (view.previousSeries) row.previousMean = view.previousSeries[i] ? view.previousSeries[i].mean : null;
    return row;
  });
  return { columns, rows };
}

function download(format) {
  if (!state.view) return;
  const { columns, rows } = viewRows(state.view);
  const name = `plaudit-${state.view.key}-${state.view.by ? GROUPS[state.view.by].name : "time"}-${state.view.choice}`.replace(/[^\w.-]+/g, "_");
  if (format === "csv") save(`${name}.csv`, toCsv(columns, rows), "text/csv;charset=utf-8");
  else save(`${name}.jsonl`, toJsonLines(columns, rows), "application/x-ndjson");
}

async function refresh() {
  const key = $("key-select").value;
  if (!key) return;
  const choice = $("window-select").value;
  const start = windowStart(choice);
  const after = start.toISOString();
  const bucket = WINDOWS[choice].bucket;
  const by = $("group-select").value;
  const compare = $("compare").checked;
  const filter = { keys: [key], after };
  const earlier = { keys: [key], after: previousStart(choice, start).toISOString(), before: after };
  const board = document.getElementById("board");
  board.dataset.loading = "true";
  board.dataset.after = after; // the window asked for (tests read it)
  board.dataset.previousAfter = earlier.after;
  const worst = query(state.apiKey, WORST_QUERY, { keys: [key], after }).then(
    (data) => data.worst,
    (error) => {
      showError($("board-error"), error);
      return [];
    },
  );
  try {
    const [data, previous, groups, previousGroups] = await Promise.all([
      query(state.apiKey, BOARD_QUERY, { filter, bucket }),
      compare ? query(state.apiKey, PREVIOUS_QUERY, { filter: earlier, bucket }) : null,
      by ? query(state.apiKey, BREAKDOWN_QUERY, { filter, by }) : null,
      by && compare ? query(state.apiKey, BREAKDOWN_QUERY, { filter: earlier, by }) : null,
    ]);
    showError($("board-error"), null);
    const summary = data.summary.groups[0];
    const before = previous ? previous.summary.groups[0] || EMPTY : null;
    renderSummary(summary, before);
    renderBreakdown(by, groups && groups.groups, previousGroups && previousGroups.groups);
    const means = [...data.series.groups, ...(previous ? previous.series.groups : [])].map((p) => p.mean);
    seriesChart($("series-chart"), data.series.groups, {
      yRange: yRangeFor(key, summary, means),
      bucketLabel: bucketLabel(bucket),
      previous: previous ? previous.series.groups : null,
    });
    $("series-note").textContent = `mean per ${bucket.toLowerCase()} (line${previous ? "; dashed: the period before" : ""}) and feedback count (bars), from ${data.series.source.toLowerCase()}`;
    $("key-rule").textContent = describeRule(key);
    state.view = {
      key,
      choice,
      after,
      until: new Date().toISOString(),
      by,
      series: data.series.groups,
      previousSeries: previous ? previous.series.groups : null,
      groups: groups ? groups.groups.groups : [],
      previousGroups: previousGroups ? previousGroups.groups.groups : null,
    };
    renderWorst(await worst);
    board.dataset.refreshedAt = new Date().toISOString();
  } catch (error) {
    showError($("board-error"), error);
  } finally {
    board.dataset.loading = "false";
  }
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, 300);
}

function setLive(status) {
  const node = $("live-status");
  node.dataset.state = status;
  node.textContent = status === "on" ? `live: on (${state.liveEvents} events)` : `live: ${status}`;
}

function subscribe() {
  if (state.subscription) state.subscription.close();
  const key = $("key-select").value;
  if (!key) return;
  state.subscription = new Subscription(state.apiKey, EVENTS, { keys: [key] }, {
    onEvent: () => {
      state.liveEvents += 1;
      setLive("on");
      scheduleRefresh();
    },
    onState: setLive,
  });
}

async function loadKeys() {
  const after = windowStart("90d").toISOString();
  const data = await query(state.apiKey, KEYS_QUERY, { after });
  state.rules = new Map(data.feedbackKeyRules.map((k) => [k.key, k]));
  const counts = new Map(data.seen.groups.map((g) => [g.key, g.count]));
  const names = [...new Set([...state.rules.keys(), ...counts.keys()])];
  names.sort((a, b) => (counts.get(b) || 0) - (counts.get(a) || 0) || a.localeCompare(b));
  const select = $("key-select");
  const previous = select.value;
  select.replaceChildren(...names.map((name) => {
    const option = item("option", name);
    option.value = name;
    return option;
  }));
  if (names.includes(previous)) select.value = previous;
  return names;
}

async function showRun() {
  const match = /^#run=(.+)$/.exec(location.hash);
  const panel = $("run-panel");
  if (!match || !state.apiKey) {
    panel.hidden = true;
    return;
  }
  const runId = decodeURIComponent(match[1]);
  $("run-panel-id").textContent = runId;
  panel.hidden = false;
  try {
    const data = await query(state.apiKey, RUN_QUERY, { runId });
    const run = data.run;
    $("run-panel-name").textContent = run && run.name ? run.name : "";
    $("run-panel-meta").textContent = run
      ? [run.model && `model ${run.model}`, run.tags.length && `tags ${run.tags.join(", ")}`, `started ${run.startTime.slice(0, 16).replace("T", " ")}`].filter(Boolean).join(" · ")
      : "This run is not in the project.";
    $("run-inputs").textContent = run ? pretty(run.inputs) : "–";
    $("run-outputs").textContent = run ? pretty(run.outputs) : "–";
    $("run-feedback").replaceChildren(...data.feedback.nodes.map((f) => {
      const tr = document.createElement("tr");
      tr.dataset.feedbackId = f.id;
      tr.appendChild(item("td", f.key));
      tr.appendChild(item("td", f.retracted ? "retracted" : f.score === null ? "–" : String(f.score)));
      tr.appendChild(item("td", f.comment || ""));
      tr.appendChild(item("td", f.userId || ""));
      tr.appendChild(item("td", f.createdAt.slice(0, 16).replace("T", " ")));
      return tr;
    }));
    panel.dataset.runId = runId;
    panel.scrollIntoView({ block: "nearest" });
  } catch (error) {
    showError($("board-error"), error);
  }
}

async function open(apiKey) {
  state.apiKey = apiKey;
  const names = await loadKeys();
  sessionStorage.setItem(STORAGE_KEY, apiKey);
  $("key-form").hidden = true;
  $("controls").hidden = false;
  $("board").hidden = false;
  if (!names.length) showError($("board-error"), new Error("No feedback yet in this project."));
  await refresh();
  subscribe();
  await showRun();
  // Other panels (assets/evaluation.js) load when the key is in.
  document.dispatchEvent(new CustomEvent("plaudit:opened", { detail: { apiKey } }));
}

function forget() {
  sessionStorage.removeItem(STORAGE_KEY);
  if (state.subscription) state.subscription.close();
  state.apiKey = null;
  document.dispatchEvent(new CustomEvent("plaudit:closed"));
  $("board").hidden = true;
  $("controls").hidden = true;
  $("key-form").hidden = false;
  $("key-input").value = "";
}

function start() {
  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const apiKey = $("key-input").value.trim();
    try {
      showError($("key-error"), null);
      await open(apiKey);
    } catch (error) {
      state.apiKey = null;
      showError($("key-error"), error);
    }
  });
  $("forget-key").addEventListener("click", forget);
  $("key-select").addEventListener("change", () => {
    refresh();
    subscribe();
  });
  $("window-select").addEventListener("change", refresh);
  $("group-select").addEventListener("change", refresh);
  $("compare").addEventListener("change", refresh);
  $("download-csv").addEventListener("click", () => download("csv"));
  $("download-jsonl").addEventListener("click", () => download("jsonl"));
  $("run-panel-close").addEventListener("click", (event) => {
    event.preventDefault();
    history.replaceState(null, "", location.pathname);
    $("run-panel").hidden = true;
  });
  window.addEventListener("hashchange", showRun);
  const saved = sessionStorage.getItem(STORAGE_KEY);
  if (saved) {
    open(saved).catch((error) => {
      sessionStorage.removeItem(STORAGE_KEY);
      $("key-form").hidden = false;
      showError($("key-error"), error);
    });
  } else {
    $("key-form").hidden = false;
  }
}

start();
