// Runs with every time format the npm `langsmith` Client sends, written and read back.
// Usage: node run_times.mjs PROJECT (LANGSMITH_ENDPOINT, LANGSMITH_API_KEY set)
//
// - createRun/updateRun without batching: epoch-millisecond numbers, ISO strings with
//   Z, with an offset, without a zone, and with the microsecond "ordering suffix".
// - RunTree in three batches (manual flush, one batch per flush): each run's start is
//   sent as "<ms>.<execution order>Z" (microseconds) and its end as a whole
//   millisecond number, the same millisecond, so every end is 1-2 µs before its start.
// - One batch with a run whose end is 10 s before its start: the other runs of that
//   batch must be stored, the bad one reported (the SDK logs the refusal).
import { Client, RunTree } from "langsmith";
import { randomUUID } from "node:crypto";

const [project] = process.argv.slice(2);
const apiUrl = process.env.LANGSMITH_ENDPOINT;
const apiKey = process.env.LANGSMITH_API_KEY;
const logged = [];
console.error = (...args) => logged.push(args.map(String).join(" "));
console.warn = (...args) => logged.push(args.map(String).join(" "));

const written = [];
const direct = new Client({ apiUrl, apiKey, autoBatchTracing: false });

async function createAndUpdate(name, start, end, extra = {}) {
  const id = randomUUID();
  const run = {
    id,
    name,
    run_type: "llm",
    inputs: { prompt: name },
    start_time: start,
    project_name: project,
    tags: ["times", name],
    extra: { metadata: { case: name } },
    ...extra,
  };
  await direct.createRun(run);
  await direct.updateRun(id, { end_time: end, outputs: { answer: name.toUpperCase() } });
  written.push({ id, name, run_type: "llm", inputs: run.inputs, outputs: { answer: name.toUpperCase() },
    start, end, tags: run.tags, metadata: run.extra.metadata, parent_run_id: null, trace_id: id,
    project });
}

const base = Date.UTC(2025, 2, 4, 5, 6, 7, 123);
await createAndUpdate("numbers", base, base + 1500);
await createAndUpdate("iso-z", "2025-03-04T05:06:07.123Z", "2025-03-04T05:06:09.456Z");
await createAndUpdate("iso-offset", "2025-03-04T07:06:07.500+02:00", "2025-03-04T05:06:08Z");
await createAndUpdate("iso-naive", "2025-03-04T05:06:07.250", "2025-03-04T05:06:07.750");
// A run created complete, its end 1 µs before its start (the ordering suffix).
{
  const id = randomUUID();
  const start = "2025-03-04T05:06:07.123001Z";
  const end = "2025-03-04T05:06:07.123Z";
  await direct.createRun({ id, name: "suffix-in-one-call", run_type: "tool", inputs: { q: 1 },
    outputs: { a: 2 }, start_time: start, end_time: end, project_name: project });
  written.push({ id, name: "suffix-in-one-call", run_type: "tool", inputs: { q: 1 }, outputs: { a: 2 },
    start, end, tags: [], metadata: {}, parent_run_id: null, trace_id: id, project });
}

// RunTree, batched: one batch per flush.
const batched = new Client({ apiUrl, apiKey, autoBatchTracing: true, manualFlushMode: true });

function record(tree, end) {
  written.push({
    id: tree.id,
    name: tree.name,
    run_type: tree.run_type,
    inputs: tree.inputs,
    outputs: tree.outputs,
    start: tree.start_time,
    end,
    tags: tree.tags ?? [],
    metadata: tree.extra?.metadata ?? {},
    parent_run_id: tree.parent_run?.id ?? null,
    trace_id: tree.trace_id,
    dotted_order: tree.dotted_order,
    project: tree.project_name,
  });
}

const groups = [];
for (let g = 0; g < 3; g++) {
  const at = base + 60_000 * (g + 1);
  const root = new RunTree({ name: `tree-${g}`, run_type: "chain", inputs: { group: g },
    client: batched, project_name: project, start_time: at, tags: [`group-${g}`],
    metadata: { group: g } });
  await root.postRun();
  const child = root.createChild({ name: `leaf-${g}`, run_type: "llm", inputs: { text: "hi" },
    start_time: at });
  await child.postRun();
  await child.end({ text: "HI" }, undefined, at);
  await child.patchRun();
  await root.end({ done: true }, undefined, at);
  await root.patchRun();
  record(root, at);
  record(child, at);
  groups.push({ root: root.id, child: child.id, serialized_start: root._serialized_start_time });
  await batched.flush();
}

// One batch, one bad run in the middle.
const at = base + 600_000;
const trees = ["good-before", "bad", "good-after"].map((name, i) => new RunTree({
  name, run_type: "chain", inputs: { i }, client: batched, project_name: project,
  start_time: at + i }));
for (const tree of trees) {
  await tree.postRun();
}
for (const [i, tree] of trees.entries()) {
  const end = tree.name === "bad" ? at + i - 10_000 : at + i + 5;
  await tree.end({ i }, undefined, end);
  await tree.patchRun();
  if (tree.name !== "bad") {
    record(tree, end);
  }
}
const bad = trees[1].id;
await batched.flush();

const read = {};
for (const run of written) {
  read[run.id] = await direct.readRun(run.id);
}
let badRead = null;
try {
  await direct.readRun(bad);
} catch (error) {
  badRead = String(error);
}
console.log(JSON.stringify({ written, read, bad, badRead, groups, logged }));
