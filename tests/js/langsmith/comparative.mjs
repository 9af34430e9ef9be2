// createComparativeExperiment through the npm `langsmith` Client.
// Usage: node comparative.mjs EXPERIMENT_ID EXPERIMENT_ID (LANGSMITH_ENDPOINT, LANGSMITH_API_KEY set)
import { Client } from "langsmith";

const experimentIds = process.argv.slice(2);
const client = new Client({
  apiUrl: process.env.LANGSMITH_ENDPOINT,
  apiKey: process.env.LANGSMITH_API_KEY,
});
const created = await client.createComparativeExperiment({
  name: "js pair",
  experimentIds,
  metadata: { from: "js" },
});
console.log(JSON.stringify({ created }));
