// Compare experiments (runs of a target over a dataset): per feedback key each
// experiment's mean, p50 and pass rate, then each example's outputs and scores side
// by side, the examples where they disagree most first. Everything is written with
// textContent: outputs are whatever the target returned.

import { query } from "/dashboard/assets/graphql.js";

const STORAGE_KEY = "plaudit.apiKey";
const $ = (id) => document.getElementById(id);

const DATASETS = `{ datasets(first: 100) { nodes { id name experiments { id name } } } }`;
const COMPARE = `query($ids: [ID!]!) { experimentComparison(experimentIds: $ids, examplesFirst: 200) {
  experiments { experiment { id name } runCount keys { key n mean p50 passRate } }
  examples { exampleId disagreement example { inputs outputs }
             cells { experimentId run { outputs } scores { key score } } }
} }`;

let apiKey = null;
let datasets = [];

function cell(row, text, header = false) {
  const node = document.createElement(header ? "th" : "td");
  node.textContent = text;
  row.append(node);
  return node;
}

function number(value, digits = 2) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

function percent(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

function json(value) {
  return value === null || value === undefined ? "–" : JSON.stringify(value);
}

function showError(error) {
  const node = $("error");
  node.hidden = !error;
  node.textContent = error ? String(error.message || error) : "";
}

function pickDataset() {
  const chosen = datasets.find((d) => d.id === $("dataset-select").value);
  const list = $("experiment-list");
  list.replaceChildren();
  const legend = document.createElement("legend");
  legend.textContent = "Experiments";
  list.append(legend);
  for (const experiment of chosen ? chosen.experiments : []) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = experiment.id;
    box.checked = true;
    label.append(box, ` ${experiment.name}`);
    list.append(label);
  }
  $("picker").hidden = !chosen;
}

function renderSummary(result) {
  const body = $("summary-body");
  body.replaceChildren();
  const keys = [...new Set(result.experiments.flatMap((e) => e.keys.map((k) => k.key)))].sort();
  for (const key of keys) {
    for (const summary of result.experiments) {
      const found = summary.keys.find((k) => k.key === key);
      const row = document.createElement("tr");
      row.dataset.key = key;
      cell(row, key, true);
      cell(row, summary.experiment.name);
      cell(row, found ? String(found.n) : "0");
      cell(row, number(found && found.mean));
      cell(row, number(found && found.p50));
      cell(row, percent(found && found.passRate));
      body.append(row);
    }
  }
  $("summary").hidden = false;
}

function renderExamples(result) {
  const names = new Map(result.experiments.map((e) => [e.experiment.id, e.experiment.name]));
  const head = document.createElement("tr");
  for (const title of ["Inputs", "Reference", ...names.values(), "Disagreement"]) {
    cell(head, title, true).scope = "col";
  }
  $("examples-head").replaceChildren(head);
  const body = $("examples-body");
  body.replaceChildren();
  for (const example of result.examples) {
    const row = document.createElement("tr");
    row.dataset.disagreement = String(example.disagreement);
    cell(row, json(example.example && example.example.inputs));
    cell(row, json(example.example && example.example.outputs));
    for (const c of example.cells) {
      const scores = c.scores.map((s) => `${s.key} ${number(s.score)}`).join(", ");
      const node = cell(row, json(c.run && c.run.outputs));
      const small = document.createElement("small");
      small.textContent = scores ? ` (${scores})` : "";
      node.append(small);
    }
    cell(row, number(example.disagreement));
    body.append(row);
  }
  $("examples").hidden = false;
}

async function compare() {
  const ids = [...$("experiment-list").querySelectorAll("input:checked")].map((b) => b.value);
  showError(null);
  if (!ids.length) {
    showError("choose at least one experiment");
    return;
  }
  try {
    const data = await query(apiKey, COMPARE, { ids });
    renderSummary(data.experimentComparison);
    renderExamples(data.experimentComparison);
  } catch (error) {
    showError(error);
  }
}

async function open(key) {
  apiKey = key;
  try {
    datasets = (await query(apiKey, DATASETS)).datasets.nodes;
  } catch (error) {
    sessionStorage.removeItem(STORAGE_KEY);
    $("key-form").hidden = false;
    showError(error);
    return;
  }
  sessionStorage.setItem(STORAGE_KEY, apiKey);
  $("key-form").hidden = true;
  const select = $("dataset-select");
  select.replaceChildren(
    ...datasets.map((d) => {
      const option = document.createElement("option");
      option.value = d.id;
      option.textContent = d.name;
      return option;
    }),
  );
  $("controls").hidden = false;
  pickDataset();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  open($("key-input").value.trim());
});
$("dataset-select").addEventListener("change", pickDataset);
$("compare").addEventListener("click", compare);

const saved = sessionStorage.getItem(STORAGE_KEY);
if (saved) {
  open(saved);
} else {
  $("key-form").hidden = false;
}
