// Feedback and a presigned token for a run the server has not received yet (the
// SDK sends runs in the background), through the npm `langsmith` Client.
// Usage: node feedback_before_run.mjs RUN_ID SESSION_ID (LANGSMITH_ENDPOINT, LANGSMITH_API_KEY set)
import { Client } from "langsmith";

const [runId, sessionId] = process.argv.slice(2);
const client = new Client({
  apiUrl: process.env.LANGSMITH_ENDPOINT,
  apiKey: process.env.LANGSMITH_API_KEY,
});
const created = await client.createFeedback(runId, "thumbs", { score: 1, comment: "early", sessionId });
const read = await client.readFeedback(created.id);
const token = await client.createPresignedFeedbackToken(runId, "stars", { expiration: { hours: 1 } });
const listed = [];
for await (const feedback of client.listFeedback({ runIds: [runId] })) listed.push(feedback.id);
console.log(JSON.stringify({ created, read, token, listed }));
