// createFeedback, readFeedback and listFeedback through the npm `langsmith` Client.
// Usage: node feedback_roundtrip.mjs RUN_ID SESSION_ID (LANGSMITH_ENDPOINT, LANGSMITH_API_KEY set)
import { Client } from "langsmith";

const [runId, sessionId] = process.argv.slice(2);
const client = new Client({
  apiUrl: process.env.LANGSMITH_ENDPOINT,
  apiKey: process.env.LANGSMITH_API_KEY,
});
const created = await client.createFeedback({
  runId,
  sessionId,
  key: "helpful",
  score: 0.75,
  value: "mostly",
  comment: "good, a bit long",
  correction: { answer: "4" },
  sourceInfo: { reviewer: "js" },
});
const read = await client.readFeedback(created.id);
const listed = [];
for await (const feedback of client.listFeedback({ runIds: [runId], feedbackKeys: ["helpful"] })) {
  listed.push(feedback);
}
console.log(JSON.stringify({ created, read, listed }));
