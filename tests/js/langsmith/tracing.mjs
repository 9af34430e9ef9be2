// traceable (nested, and one that throws) with the npm `langsmith` Client, then
// everything read back: readRun (with its child runs), listRuns, readProject.
// Usage: node tracing.mjs PROJECT (LANGSMITH_ENDPOINT, LANGSMITH_API_KEY set)
import { Client } from "langsmith";
import { getCurrentRunTree, traceable } from "langsmith/traceable";

const [project] = process.argv.slice(2);
const client = new Client({
  apiUrl: process.env.LANGSMITH_ENDPOINT,
  apiKey: process.env.LANGSMITH_API_KEY,
  autoBatchTracing: true,
});
const logged = [];
console.error = (...args) => logged.push(args.map(String).join(" "));
console.warn = (...args) => logged.push(args.map(String).join(" "));

const written = {};
function remember(name, extra = {}) {
  const tree = getCurrentRunTree();
  written[name] = {
    id: tree.id,
    trace_id: tree.trace_id,
    parent_run_id: tree.parent_run?.id ?? null,
    dotted_order: tree.dotted_order,
    ...extra,
  };
}

const options = { client, project_name: project, tracingEnabled: true };
const llm = traceable(
  async (prompt) => {
    remember("llm", { run_type: "llm", inputs: { input: prompt } });
    return { text: prompt.toUpperCase(), usage_metadata: { input_tokens: 5, output_tokens: 2, total_tokens: 7 } };
  },
  { ...options, name: "llm", run_type: "llm", metadata: { ls_model_name: "m-js" } },
);
const retrieve = traceable(
  async (question) => {
    remember("retrieve", { run_type: "retriever", inputs: { input: question } });
    return [`doc about ${question}`];
  },
  { ...options, name: "retrieve", run_type: "retriever", tags: ["search"] },
);
const pipeline = traceable(
  async (question) => {
    remember("pipeline", { run_type: "chain", inputs: { input: question } });
    const docs = await retrieve(question);
    const answer = await llm(`${question} given ${docs.length} doc`);
    return { answer: answer.text };
  },
  {
    ...options,
    name: "pipeline",
    run_type: "chain",
    tags: ["app"],
    metadata: { thread_id: "js-thread", user_id: "js-user" },
  },
);
const broken = traceable(
  async () => {
    remember("broken", { run_type: "tool", inputs: {} });
    throw new Error("the tool broke");
  },
  { ...options, name: "broken", run_type: "tool" },
);

const result = await pipeline("what is plaudit");
try {
  await broken();
} catch (error) {
  // expected
}
await client.awaitPendingTraceBatches();

async function all(iterable) {
  const found = [];
  for await (const item of iterable) {
    found.push(item);
  }
  return found;
}

const read = {};
for (const [name, run] of Object.entries(written)) {
  read[name] = await client.readRun(run.id);
}
const tree = await client.readRun(written.pipeline.id, { loadChildRuns: true });
const listed = await all(client.listRuns({ projectName: project }));
const roots = await all(client.listRuns({ projectName: project, isRoot: true }));
const inTrace = await all(client.listRuns({ traceId: written.pipeline.id }));
const llms = await all(client.listRuns({ projectName: project, filter: 'eq(run_type, "llm")' }));
const failed = await all(client.listRuns({ projectName: project, error: true }));
const projectRead = await client.readProject({ projectName: project });
console.log(
  JSON.stringify({ result, written, read, tree, listed, roots, inTrace, llms, failed, projectRead, logged }),
);
