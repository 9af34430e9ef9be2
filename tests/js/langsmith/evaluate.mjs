// evaluate() from the npm `langsmith` package: a target over a dataset with two
// evaluators, results uploaded to the server.
// Usage: node evaluate.mjs DATASET_NAME (LANGSMITH_ENDPOINT, LANGSMITH_API_KEY set;
// AUTO_BATCH=1 for the SDK's default background batching of runs)
import { Client } from "langsmith";
import { evaluate } from "langsmith/evaluation";

const [datasetName] = process.argv.slice(2);
const client = new Client({
  apiUrl: process.env.LANGSMITH_ENDPOINT,
  apiKey: process.env.LANGSMITH_API_KEY,
  // Off: runs are sent as they end. On (the SDK's default): runs go in background
  // batches, so an evaluator's feedback often reaches Plaudit before its run does
  // (it is kept pending and attaches when the run arrives).
  autoBatchTracing: process.env.AUTO_BATCH === "1",
});
const target = async (inputs) => ({ sum: inputs.a + inputs.b + (inputs.a % 3 === 0 ? 1 : 0) });
const exact = ({ outputs, referenceOutputs }) => ({
  key: "exact",
  score: outputs.sum === referenceOutputs.sum ? 1 : 0,
});
const closeness = ({ outputs, referenceOutputs }) => ({
  key: "closeness",
  score: 1 / (1 + Math.abs(outputs.sum - referenceOutputs.sum)),
});
const results = await evaluate(target, {
  data: datasetName,
  evaluators: [exact, closeness],
  client,
  experimentPrefix: "js",
  maxConcurrency: 2,
});
await client.awaitPendingTraceBatches();
console.log(JSON.stringify({ experimentName: results.experimentName, rows: results.results.length }));
