// Every feedback call of the npm `langsmith` Client, each option set, read back.
// Usage: node feedback_calls.mjs RUN_ID JUDGE_RUN_ID SESSION_ID EXPERIMENT_ID
// (LANGSMITH_ENDPOINT, LANGSMITH_API_KEY set). Prints what it created and read.
import { Client, uuid7 } from "langsmith";

const [runId, judgeRunId, sessionId, experimentId] = process.argv.slice(2);
const client = new Client({
  apiUrl: process.env.LANGSMITH_ENDPOINT,
  apiKey: process.env.LANGSMITH_API_KEY,
});

async function ids(filters) {
  const found = [];
  for await (const feedback of client.listFeedback(filters)) found.push(feedback.id);
  return found.sort();
}

async function refusal(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return String(error);
  }
}

const feedbackId = uuid7();
// Every option createFeedback takes. With traceId the SDK would batch feedback
// through /runs/multipart; GET /info says there is none, so it posts /feedback.
const created = await client.createFeedback(runId, "helpfulness", {
  score: 0.8123456,
  value: "good",
  comment: "clear answer",
  correction: { text: "a clearer answer" },
  sourceInfo: { reviewer: "js" },
  feedbackSourceType: "model",
  sourceRunId: judgeRunId,
  feedbackId,
  traceId: runId,
  comparativeExperimentId: experimentId,
  sessionId,
  feedbackConfig: { type: "continuous", min: 0, max: 1 },
});
const read = await client.readFeedback(feedbackId);
// The object form, a boolean score, the app source type, no sessionId.
const app = await client.createFeedback({ runId, key: "tone", score: true, feedbackSourceType: "app" });

await client.updateFeedback(feedbackId, {
  score: 0.25,
  value: "fine",
  correction: { text: "fine as it is" },
  comment: null,
});
const updated = await client.readFeedback(feedbackId);

const evaluated = await client.logEvaluationFeedback({
  evaluatorResponse: {
    results: [
      { key: "correct", score: 1, comment: "matches", evaluatorInfo: { judge: "exact" }, sourceRunId: judgeRunId },
      { key: "style", score: 0, value: "terse", correction: { text: "longer" } },
    ],
  },
  run: { id: runId, trace_id: runId, session_id: sessionId, start_time: Date.now() },
  projectId: sessionId,
  sourceInfo: { suite: "js" },
});
const evaluations = [];
for await (const feedback of client.listFeedback({ runIds: [runId], feedbackKeys: ["correct", "style"] })) {
  evaluations.push(feedback);
}

const listed = {
  byRun: await ids({ runIds: [runId] }),
  byKey: await ids({ feedbackKeys: ["tone"] }),
  bySource: await ids({ feedbackSourceTypes: ["model"] }),
  byRunKeyAndSource: await ids({ runIds: [runId], feedbackKeys: ["helpfulness", "tone"], feedbackSourceTypes: ["app"] }),
  otherRun: await ids({ runIds: [judgeRunId] }),
};

await client.deleteFeedback(app.id);
const afterDelete = await ids({ runIds: [runId] });
const readDeleted = await refusal(client.readFeedback(app.id));

console.log(
  JSON.stringify({ feedbackId, created, read, app, updated, evaluated, evaluations, listed, afterDelete, readDeleted }),
);
