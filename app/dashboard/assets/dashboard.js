// The Plaudit dashboard: one key, one window; the numbers all come from the
// public GraphQL API, and live events refresh them.

import { distributionChart, formatNumber, seriesChart } from "./charts.js";
import { query, Subscription } from "./graphql.js";

const STORAGE_KEY = "plaudit.apiKey";
const WINDOWS = {
  "24h": { bucket: "HOUR", count: 24 },
  "7d": { bucket: "DAY", count: 7 },
  "30d": { bucket: "DAY", count: 30 },
  "90d": { bucket: "DAY", count: 90 },
};

const KEYS_QUERY = `query DashboardKeys($after: DateTime) {
  feedbackKeys { key kind min max higherIsBetter }
  seen: feedbackStats(filter: {after: $after}, groupBy: [{dimension: KEY}], limit: 200) {
    groups { key count }
  }
}`;

const BOARD_QUERY = `query Dashboard($filter: FeedbackStatsFilter!, $bucket: TimeBucket!) {
  summary: feedbackStats(filter: $filter, comments: 10) {
    source
    groups {
      count scored mean min max stddev p50 p90 positive negative positiveShare negativeShare
      labels { label count }
      distribution { low high count }
      comments { id runId comment score userId createdAt }
    }
  }
  series: feedbackStats(filter: $filter, groupBy: [{dimension: TIME, bucket: $bucket}]) {
    source
    groups { time count mean positiveShare }
  }
}`;

// Worst runs aggregate the window's raw feedback: asked for separately, so the
// charts (read from rollups) never wait for them.
const WORST_QUERY = `query WorstRuns($keys: [String!], $after: DateTime) {
  worst: worstRuns(keys: $keys, after: $after, first: 10, comments: 2) {
    runId negative positive negativeShare lastFeedbackAt
    comments { comment }
  }
}`;

const RUN_QUERY = `query RunFeedback($runId: ID!) {
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
  keys: new Map(), // key -> registration (or null)
  subscription: null,
  refreshTimer: null,
  liveEvents: 0,
};

function windowStart(choice) {
  const { bucket, count } = WINDOWS[choice];
  const now = new Date();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), bucket === "HOUR" ? now.getUTCHours() : 0));
  if (bucket === "HOUR") start.setUTCHours(start.getUTCHours() - (count - 1));
  else start.setUTCDate(start.getUTCDate() - (count - 1));
  return start;
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

function renderSummary(group) {
  const g = group || { count: 0, scored: 0, mean: null, p50: null, p90: null, stddev: null, positiveShare: null, negativeShare: null, distribution: [], labels: [], comments: [] };
  setStat("count", g.count, String(g.count));
  setStat("mean", g.mean, formatNumber(g.mean));
  setStat("positiveShare", g.positiveShare, percent(g.positiveShare));
  setStat("negativeShare", g.negativeShare, percent(g.negativeShare));
  setStat("p50", g.p50, formatNumber(g.p50));
  setStat("p90", g.p90, formatNumber(g.p90));
  setStat("stddev", g.stddev, formatNumber(g.stddev));
  distributionChart($("distribution-chart"), g.distribution);
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
    const link = item("a", r.runId.slice(0, 8));
    link.href = `#run=${encodeURIComponent(r.runId)}`;
    link.title = r.runId;
    cell.appendChild(link);
    tr.appendChild(cell);
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
    td.colSpan = 5;
    tr.appendChild(td);
    $("worst-runs").appendChild(tr);
  }
}

function yRangeFor(key) {
  const registration = state.keys.get(key);
  if (!registration) return null;
  const kind = String(registration.kind).toLowerCase();
  if (kind === "boolean") return [0, 1];
  if (kind === "continuous" && registration.min !== null && registration.max !== null) {
    return [registration.min, registration.max];
  }
  return null;
}

async function refresh() {
  const key = $("key-select").value;
  if (!key) return;
  const choice = $("window-select").value;
  const after = windowStart(choice).toISOString();
  const bucket = WINDOWS[choice].bucket;
  const board = document.getElementById("board");
  board.dataset.loading = "true";
  const worst = query(state.apiKey, WORST_QUERY, { keys: [key], after }).then(
    (data) => data.worst,
    (error) => {
      showError($("board-error"), error);
      return [];
    },
  );
  try {
    const data = await query(state.apiKey, BOARD_QUERY, { filter: { keys: [key], after }, bucket });
    showError($("board-error"), null);
    renderSummary(data.summary.groups[0]);
    seriesChart($("series-chart"), data.series.groups, { yRange: yRangeFor(key), bucketLabel: bucketLabel(bucket) });
    $("series-note").textContent = `mean per ${bucket.toLowerCase()} (line) and feedback count (bars), from ${data.series.source.toLowerCase()}`;
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
  state.keys = new Map(data.feedbackKeys.map((k) => [k.key, k]));
  const counts = new Map(data.seen.groups.map((g) => [g.key, g.count]));
  const names = [...new Set([...state.keys.keys(), ...counts.keys()])];
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
