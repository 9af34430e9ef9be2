// The review workspace: claim a task's next run, read it, fill the task's rubric,
// submit or skip; or compare two runs with the same inputs (pairwise). Everything
// goes through the public GraphQL API.
//
// Who is reviewing: an API key (kept in sessionStorage, as on the dashboard) and a
// name the reviews are recorded under; or a reviewer link. A link arrives as
// /dashboard/review#link=<token>: the fragment never reaches a server or a
// Referer, and it is moved into sessionStorage and out of the address bar (and
// this history entry) before anything else runs. It is sent only as
// "Authorization: ReviewLink <token>".

import { GraphQLError, queryAs } from "./graphql.js";
import { renderMarkdown } from "./markdown.js";
import { RubricForm } from "./rubric.js";
import { el, jsonTree, renderValue } from "./run_view.js";

const KEY_STORAGE = "plaudit.apiKey"; // the dashboard's
const NAME_STORAGE = "plaudit.reviewerName";
const LINK_STORAGE = "plaudit.reviewerLink";
const TASK_STORAGE = "plaudit.reviewTask";
const SKIPPED_STORAGE = "plaudit.reviewSkipped";
const MAX_SKIPPED = 500;
const LINK_ENDED = new Set(["TOKEN_EXPIRED", "TOKEN_REVOKED", "INVALID_TOKEN"]);

const TASK_FIELDS = "id name instructions schema metricKeys";
const RUN_FIELDS = `id name model tags metadata inputs outputs startTime latencyMs error
  feedback { key score value comment userId sourceType createdAt retracted }`;
const PAIR_RUN = "id name model inputs outputs metadata";

const TASKS = `query ReviewTasks { feedbackTasks(first: 100) { nodes { ${TASK_FIELDS} } } }`;
const CURRENT_LINK = `query ReviewLink { currentReviewerLink { reviewer expiresAt task { ${TASK_FIELDS} } } }`;
const CLAIM = `mutation Claim($task: ID!, $user: String, $skip: [ID!]) {
  claimReview(taskId: $task, userId: $user, skipRunIds: $skip) { leaseExpiresAt run { ${RUN_FIELDS} } }
}`;
const RELEASE = `mutation Release($task: ID!, $run: ID!, $user: String) {
  releaseReview(taskId: $task, runId: $run, userId: $user)
}`;
const SUBMIT = `mutation Submit($task: ID!, $run: ID!, $values: JSON!, $comment: String, $user: String) {
  submitTaskFeedback(taskId: $task, runId: $run, values: $values, comment: $comment, userId: $user) {
    reviewCount submission { id }
  }
}`;
const PROGRESS = `query Progress($task: ID!, $user: String, $since: DateTime) {
  reviewProgress(taskId: $task, userId: $user, since: $since) { reviewer remaining remainingCapped done }
}`;
const PAIR = `query Pair($task: ID!, $key: String, $user: String, $skip: [[ID!]!]) {
  reviewPair(taskId: $task, key: $key, userId: $user, skipPairs: $skip) {
    key first { ${PAIR_RUN} } second { ${PAIR_RUN} }
  }
}`;
const PREFER = `mutation Prefer($key: String!, $preferred: ID!, $other: ID!, $tied: Tie, $user: String, $comment: String) {
  logPreference(key: $key, preferredRunId: $preferred, otherRunId: $other, tied: $tied, userId: $user, comment: $comment) { id }
}`;
const LINKS = `query Links($task: ID!) {
  reviewerLinks(taskId: $task, first: 50) { nodes { id reviewer expiresAt revokedAt } }
}`;
const MAKE_LINK = `mutation MakeLink($task: ID!, $reviewer: String, $expiresIn: Int) {
  createReviewerLink(taskId: $task, reviewer: $reviewer, expiresIn: $expiresIn) { url link { id } }
}`;
const REVOKE_LINK = `mutation RevokeLink($id: ID!) { revokeReviewerLink(id: $id) { id revokedAt } }`;

const $ = (id) => document.getElementById(id);

const state = {
  auth: null, // {kind: "key", key, name} | {kind: "link", token, name}
  tasks: [],
  task: null,
  mode: "rubric",
  claim: null, // the run being reviewed
  form: null,
  pair: null, // {key, left, right}
  pairSkips: [],
  compared: 0,
  busy: false,
};

class LinkEnded extends Error {}

// ---- talking to the API

function authorization() {
  return state.auth.kind === "link" ? `ReviewLink ${state.auth.token}` : `Bearer ${state.auth.key}`;
}

// The reviewer's user id to send: a key reviews under the name given; a link
// always as its own reviewer, so it sends none.
function user() {
  return state.auth.kind === "key" ? state.auth.name : null;
}

async function call(text, variables = {}) {
  if (!state.auth) throw new LinkEnded("not signed in");
  try {
    return await queryAs(authorization(), text, variables);
  } catch (error) {
    if (state.auth && state.auth.kind === "link" && error instanceof GraphQLError && LINK_ENDED.has(error.code)) {
      endLink(error);
      throw new LinkEnded(error.message);
    }
    throw error;
  }
}

// ---- messages

function showError(error) {
  const node = $("workspace-error");
  if (error instanceof LinkEnded) return;
  node.textContent = error ? String(error.message || error) : "";
  node.hidden = !error;
}

function notice(text) {
  const node = $("notice");
  node.textContent = text;
  node.hidden = !text;
}

function setState(name) {
  $("workspace").dataset.state = name;
}

// ---- skipped runs, per task, for this tab

function skipped() {
  const all = JSON.parse(sessionStorage.getItem(SKIPPED_STORAGE) || "{}");
  return all[state.task.id] || [];
}

function addSkipped(runId) {
  const all = JSON.parse(sessionStorage.getItem(SKIPPED_STORAGE) || "{}");
  all[state.task.id] = [...(all[state.task.id] || []), runId].slice(-MAX_SKIPPED);
  sessionStorage.setItem(SKIPPED_STORAGE, JSON.stringify(all));
}

// ---- the run

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function scoreText(feedback) {
  if (feedback.score !== null && feedback.score !== undefined) return String(feedback.score);
  if (feedback.value !== null && feedback.value !== undefined) return JSON.stringify(feedback.value);
  return "–";
}

function renderFeedback(list) {
  const metricKeys = new Set(state.task.metricKeys || []);
  // This task's answers by other reviewers stay hidden: reviews are independent.
  const shown = list.filter((f) => !f.retracted && !metricKeys.has(f.key));
  const items = shown.map((f) => {
    const li = el("li");
    li.appendChild(el("span", f.key, "fb-key"));
    li.appendChild(el("span", scoreText(f), "fb-score"));
    if (f.comment) li.appendChild(el("q", f.comment));
    li.appendChild(el("span", `${f.userId || f.sourceType.toLowerCase()} · ${when(f.createdAt)}`, "meta"));
    return li;
  });
  $("run-feedback").replaceChildren(...items);
  if (!items.length) $("run-feedback").appendChild(el("li", "No feedback yet.", "muted"));
}

function renderRun(claim) {
  const run = claim.run;
  $("run").dataset.runId = run.id;
  $("review").dataset.runId = run.id;
  $("run-title").textContent = run.name || "Run";
  const meta = [run.model, when(run.startTime), run.latencyMs !== null ? `${Math.round(run.latencyMs)} ms` : null, `yours until ${new Date(claim.leaseExpiresAt).toLocaleTimeString()}`];
  $("run-meta").textContent = meta.filter(Boolean).join(" · ");
  $("run-tags").replaceChildren(...run.tags.map((t) => el("li", t, "tag")));
  $("run-inputs").replaceChildren(renderValue(run.inputs));
  const outputs = renderValue(run.outputs);
  if (run.error) outputs.prepend(el("p", `Error: ${run.error}`, "error"));
  $("run-outputs").replaceChildren(outputs);
  const hasMetadata = run.metadata !== null && run.metadata !== undefined;
  $("run-metadata-box").hidden = !hasMetadata;
  $("run-metadata").replaceChildren(hasMetadata ? jsonTree(run.metadata) : "");
  renderFeedback(run.feedback);
}

function resetForm() {
  state.form = new RubricForm($("fields"), state.task.schema);
  $("comment").value = "";
  if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
}

async function claimNext() {
  state.busy = true;
  setState("loading");
  try {
    const data = await call(CLAIM, { task: state.task.id, user: user(), skip: skipped() });
    const claim = data.claimReview;
    state.claim = claim ? claim.run : null;
    $("empty").hidden = Boolean(claim);
    $("review").hidden = !claim;
    if (claim) {
      renderRun(claim);
      resetForm();
    } else {
      delete $("review").dataset.runId;
    }
    showError(null);
    setState(claim ? "ready" : "empty");
  } catch (error) {
    showError(error);
    setState("error");
  } finally {
    state.busy = false;
  }
}

async function refreshProgress() {
  const since = new Date();
  since.setHours(0, 0, 0, 0); // the reviewer's own today
  try {
    const data = await call(PROGRESS, { task: state.task.id, user: user(), since: since.toISOString() });
    const p = data.reviewProgress;
    const node = $("progress");
    node.textContent = `${p.remaining}${p.remainingCapped ? "+" : ""} left in the queue · ${p.done} done by you today`;
    node.dataset.remaining = String(p.remaining);
    node.dataset.done = String(p.done);
  } catch (error) {
    showError(error);
  }
}

async function submit() {
  if (state.busy || !state.claim || state.mode !== "rubric") return;
  const values = state.form.collect();
  if (values === null) return;
  state.busy = true;
  setState("saving");
  const runId = state.claim.id;
  const comment = $("comment").value.trim() || null;
  try {
    await call(SUBMIT, { task: state.task.id, run: runId, values, comment, user: user() });
    state.busy = false;
    notice("Saved. Here is the next one.");
    await Promise.all([claimNext(), refreshProgress()]);
  } catch (error) {
    state.busy = false;
    setState("ready");
    const fieldErrors = error instanceof GraphQLError && error.errors[0].extensions && error.errors[0].extensions.errors;
    if (Array.isArray(fieldErrors)) {
      state.form.showErrors(fieldErrors);
      $("rubric").dataset.invalid = "true";
      notice("");
    } else {
      showError(error);
    }
  }
}

async function skip() {
  if (state.busy || !state.claim || state.mode !== "rubric") return;
  state.busy = true;
  setState("saving");
  const runId = state.claim.id;
  addSkipped(runId);
  try {
    await call(RELEASE, { task: state.task.id, run: runId, user: user() });
  } catch (error) {
    state.busy = false;
    if (error instanceof LinkEnded) return;
    setState("ready");
    showError(error);
  }
  state.busy = false;
  notice("Skipped.");
  await claimNext();
}

// ---- pairwise

function renderSide(name, run) {
  const side = document.querySelector(`[data-side="${name}"]`);
  side.dataset.runId = run.id;
  side.querySelector("[data-role=meta]").textContent = [run.name, run.model].filter(Boolean).join(" · ");
  side.querySelector("[data-role=outputs]").replaceChildren(renderValue(run.outputs));
}

async function loadPair() {
  state.busy = true;
  setState("loading");
  try {
    const key = $("pair-key").value.trim() || state.task.name;
    const data = await call(PAIR, { task: state.task.id, key, user: user(), skip: state.pairSkips });
    const pair = data.reviewPair;
    $("pair").hidden = !pair;
    $("pair-empty").hidden = Boolean(pair);
    state.pair = null;
    if (pair) {
      // Sides are drawn at random, so the older run is not always on the left.
      const swap = Math.random() < 0.5;
      state.pair = { key: pair.key, left: swap ? pair.second : pair.first, right: swap ? pair.first : pair.second };
      $("pair-inputs").replaceChildren(renderValue(pair.first.inputs));
      renderSide("left", state.pair.left);
      renderSide("right", state.pair.right);
      $("pair-comment").value = "";
    }
    $("progress").textContent = `${state.compared} compared in this session`;
    showError(null);
    setState(pair ? "ready" : "empty");
  } catch (error) {
    showError(error);
    setState("error");
  } finally {
    state.busy = false;
  }
}

async function choosePair(choice) {
  if (state.busy || !state.pair || state.mode !== "pairwise") return;
  const { key, left, right } = state.pair;
  if (choice === "skip") {
    state.pairSkips.push([left.id, right.id]);
    notice("Skipped.");
    await loadPair();
    return;
  }
  const [preferred, other] = choice === "right" ? [right, left] : [left, right];
  const tied = choice === "good" ? "GOOD" : choice === "bad" ? "BAD" : null;
  state.busy = true;
  setState("saving");
  try {
    await call(PREFER, {
      key,
      preferred: preferred.id,
      other: other.id,
      tied,
      user: user(),
      comment: $("pair-comment").value.trim() || null,
    });
    state.compared += 1;
    state.busy = false;
    notice(tied ? `Recorded: both ${tied.toLowerCase()}.` : "Recorded.");
    await loadPair();
  } catch (error) {
    state.busy = false;
    setState("ready");
    showError(error);
  }
}

// ---- reviewer links (admin keys)

async function refreshLinks() {
  const panel = $("links-panel");
  if (state.auth.kind !== "key") {
    panel.hidden = true;
    return;
  }
  let data;
  try {
    data = await call(LINKS, { task: state.task.id });
  } catch (error) {
    panel.hidden = true; // not an admin key: no links to manage
    if (!(error instanceof GraphQLError && error.code === "FORBIDDEN")) showError(error);
    return;
  }
  panel.hidden = false;
  const now = Date.now();
  const rows = data.reviewerLinks.nodes.map((link) => {
    const tr = el("tr");
    tr.dataset.linkId = link.id;
    const status = link.revokedAt ? "revoked" : new Date(link.expiresAt).getTime() <= now ? "expired" : "active";
    tr.dataset.status = status;
    tr.append(el("td", link.reviewer), el("td", when(link.expiresAt)), el("td", status));
    const cell = el("td");
    if (status === "active") {
      const revoke = el("button", "Revoke");
      revoke.type = "button";
      revoke.dataset.testid = "link-revoke";
      revoke.addEventListener("click", async () => {
        try {
          await call(REVOKE_LINK, { id: link.id });
          await refreshLinks();
        } catch (error) {
          showError(error);
        }
      });
      cell.appendChild(revoke);
    }
    tr.appendChild(cell);
    return tr;
  });
  $("links").replaceChildren(...rows);
}

async function makeLink(event) {
  event.preventDefault();
  try {
    const data = await call(MAKE_LINK, {
      task: state.task.id,
      reviewer: $("link-name").value.trim() || null,
      expiresIn: Number($("link-days").value) * 86400,
    });
    $("link-url").value = data.createReviewerLink.url;
    $("link-made").hidden = false;
    $("link-name").value = "";
    await refreshLinks();
  } catch (error) {
    showError(error);
  }
}

// ---- tasks and modes

function setMode(mode) {
  state.mode = mode;
  for (const tab of document.querySelectorAll("#mode-switch [data-mode]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.mode === mode));
  }
  $("rubric-view").hidden = mode !== "rubric";
  $("pairwise-view").hidden = mode !== "pairwise";
  notice("");
  if (mode === "rubric") {
    claimNext();
    refreshProgress();
  } else {
    loadPair();
  }
}

async function releaseCurrent() {
  if (!state.claim || !state.task) return;
  const run = state.claim.id;
  state.claim = null;
  try {
    await call(RELEASE, { task: state.task.id, run, user: user() });
  } catch {
    // The lease runs out by itself.
  }
}

async function selectTask(task) {
  await releaseCurrent();
  state.task = task;
  state.pairSkips = [];
  sessionStorage.setItem(TASK_STORAGE, task.id);
  $("task-select").value = task.id;
  $("task-fixed").textContent = task.name;
  const instructions = $("instructions");
  instructions.replaceChildren(task.instructions ? renderMarkdown(task.instructions) : "");
  instructions.hidden = !task.instructions;
  $("pair-key").value = task.name;
  $("link-made").hidden = true;
  setMode(state.mode);
  refreshLinks();
}

// ---- opening and leaving

async function open(auth) {
  state.auth = auth;
  let tasks;
  if (auth.kind === "link") {
    const data = await call(CURRENT_LINK);
    const link = data.currentReviewerLink;
    auth.name = link.reviewer;
    tasks = [link.task];
  } else {
    const data = await call(TASKS);
    tasks = data.feedbackTasks.nodes;
    if (!tasks.length) throw new Error("This project has no feedback tasks yet: create one with createFeedbackTask.");
    sessionStorage.setItem(KEY_STORAGE, auth.key);
    sessionStorage.setItem(NAME_STORAGE, auth.name);
  }
  state.tasks = tasks;
  const isLink = auth.kind === "link";
  $("reviewer-name").textContent = auth.name;
  $("task-picker").hidden = isLink;
  $("task-fixed").hidden = !isLink;
  $("mode-switch").hidden = isLink; // a link claims and submits; pairwise needs a key
  $("nav-dashboard").hidden = isLink;
  $("task-select").replaceChildren(
    ...tasks.map((t) => {
      const option = el("option", t.name);
      option.value = t.id;
      return option;
    }),
  );
  $("access-form").hidden = true;
  $("review-controls").hidden = false;
  $("workspace").hidden = false;
  const saved = sessionStorage.getItem(TASK_STORAGE);
  await selectTask(tasks.find((t) => t.id === saved) || tasks[0]);
}

function showAccess(message) {
  $("workspace").hidden = true;
  $("review-controls").hidden = true;
  $("access-form").hidden = false;
  const storedKey = sessionStorage.getItem(KEY_STORAGE);
  $("access-key").closest("label").hidden = Boolean(storedKey);
  $("access-name").value = sessionStorage.getItem(NAME_STORAGE) || "";
  const error = $("access-error");
  error.textContent = message || "";
  error.hidden = !message;
}

function endLink(error) {
  sessionStorage.removeItem(LINK_STORAGE);
  state.auth = null;
  state.claim = null;
  const why = error.code === "TOKEN_EXPIRED" ? "has expired" : error.code === "TOKEN_REVOKED" ? "has been revoked" : "is not valid";
  showAccess(`This reviewer link ${why}. Ask whoever sent it for a new one.`);
}

async function leave() {
  await releaseCurrent();
  for (const name of [LINK_STORAGE, KEY_STORAGE, NAME_STORAGE, TASK_STORAGE, SKIPPED_STORAGE]) {
    sessionStorage.removeItem(name);
  }
  state.auth = null;
  showAccess("");
}

function takeLinkFromFragment() {
  const match = /^#link=([^&]+)/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(LINK_STORAGE, decodeURIComponent(match[1]));
  sessionStorage.removeItem(TASK_STORAGE);
  history.replaceState(null, "", location.pathname);
}

// ---- keyboard

function typingIn(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function onKey(event) {
  if (!state.auth || $("workspace").hidden || event.altKey) return;
  const target = event.target;
  if (typingIn(target)) {
    if (event.key === "Escape") target.blur();
    else if (event.key === "Enter" && target.tagName === "TEXTAREA" && (event.ctrlKey || event.metaKey) && target.closest("#rubric")) {
      event.preventDefault();
      submit();
    }
    return;
  }
  if (event.ctrlKey || event.metaKey) return;
  if (state.mode === "rubric") {
    if (!state.claim) {
      if (event.key === "Enter") {
        event.preventDefault();
        claimNext();
      }
      return;
    }
    // preventDefault: a key that moves focus into a text box must not type there.
    if (/^[0-9]$/.test(event.key)) {
      if (state.form.pickDigit(Number(event.key))) event.preventDefault();
    } else if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      state.form.move(event.key === "j" ? 1 : -1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      submit();
    } else if (event.key === "s") {
      event.preventDefault();
      skip();
    }
  } else if (state.pair) {
    const choice = { 1: "left", 2: "right", 3: "good", 4: "bad", s: "skip" }[event.key];
    if (choice) {
      event.preventDefault();
      choosePair(choice);
    }
  }
}

// ---- start

function start() {
  takeLinkFromFragment();
  $("access-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("access-key").value.trim() || sessionStorage.getItem(KEY_STORAGE) || "";
    const name = $("access-name").value.trim();
    if (!key) {
      showAccess("Paste an API key, or open the reviewer link you were sent.");
      return;
    }
    try {
      await open({ kind: "key", key, name });
    } catch (error) {
      state.auth = null;
      sessionStorage.removeItem(KEY_STORAGE);
      showAccess(String(error.message || error));
    }
  });
  $("rubric").addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  $("skip").addEventListener("click", skip);
  $("check-again").addEventListener("click", claimNext);
  $("pair-again").addEventListener("click", loadPair);
  $("pair-key").addEventListener("change", () => {
    state.pairSkips = [];
    loadPair();
  });
  for (const button of document.querySelectorAll("[data-choice]")) {
    button.addEventListener("click", () => choosePair(button.dataset.choice));
  }
  for (const tab of document.querySelectorAll("#mode-switch [data-mode]")) {
    tab.addEventListener("click", () => tab.dataset.mode !== state.mode && setMode(tab.dataset.mode));
  }
  $("task-select").addEventListener("change", () => {
    const task = state.tasks.find((t) => t.id === $("task-select").value);
    if (task) selectTask(task);
  });
  $("link-form").addEventListener("submit", makeLink);
  $("link-copy").addEventListener("click", () => {
    $("link-url").select();
    if (navigator.clipboard) navigator.clipboard.writeText($("link-url").value).catch(() => {});
  });
  $("leave").addEventListener("click", leave);
  document.addEventListener("keydown", onKey);

  const link = sessionStorage.getItem(LINK_STORAGE);
  const key = sessionStorage.getItem(KEY_STORAGE);
  const name = sessionStorage.getItem(NAME_STORAGE);
  const auth = link ? { kind: "link", token: link } : key && name ? { kind: "key", key, name } : null;
  if (!auth) {
    showAccess("");
    return;
  }
  open(auth).catch((error) => {
    if (error instanceof LinkEnded) return;
    state.auth = null;
    showAccess(String(error.message || error));
  });
}

start();
