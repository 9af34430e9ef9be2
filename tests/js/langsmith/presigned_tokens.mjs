// Presigned feedback tokens through the npm `langsmith` Client: every expiration
// form, a feedbackConfig, listing; then a submission to one token's URL.
// Usage: node presigned_tokens.mjs RUN_ID (LANGSMITH_ENDPOINT, LANGSMITH_API_KEY set)
import { Client } from "langsmith";

const [runId] = process.argv.slice(2);
const endpoint = process.env.LANGSMITH_ENDPOINT;
const client = new Client({ apiUrl: endpoint, apiKey: process.env.LANGSMITH_API_KEY });

const at = new Date(Date.now() + 90 * 60 * 1000).toISOString();
const asked = Date.now();
const tokens = {
  hours: await client.createPresignedFeedbackToken(runId, "thumbs", { expiration: { hours: 2 } }),
  days: await client.createPresignedFeedbackToken(runId, "stars", {
    expiration: { days: 1 },
    feedbackConfig: { type: "continuous", min: 1, max: 5 },
  }),
  minutes: await client.createPresignedFeedbackToken(runId, "topic", {
    expiration: { minutes: 5 },
    feedbackConfig: {
      type: "categorical",
      categories: [{ value: 0, label: "billing" }, { value: 1, label: "returns" }],
    },
  }),
  iso: await client.createPresignedFeedbackToken(runId, "tone", { expiration: at }),
  default: await client.createPresignedFeedbackToken(runId, "effort"),
};
const listed = [];
for await (const token of client.listPresignedFeedbackTokens(runId)) listed.push(token);

// A browser-less client posting to the token URL (the SDK has no call for it):
// the URL carries the public URL; reach the same path on the endpoint.
async function submit(token, body) {
  const url = new URL(new URL(token.url).pathname, endpoint);
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}
const submitted = [
  await submit(tokens.days, { score: 4, comment: "good", metadata: { page: "/help" } }),
  await submit(tokens.days, { comment: "good, and a comment later" }),
  await submit(tokens.minutes, { score: 1 }),
];

console.log(JSON.stringify({ asked, at, tokens, listed, submitted }));
