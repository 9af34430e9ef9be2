// The Langfuse JS SDKs against a live Plaudit: a trace made with
// startActiveObservation and observe (@langfuse/tracing) exported through the
// LangfuseSpanProcessor (@langfuse/otel), scores created with @langfuse/client,
// both flushed, then everything read back through the client's API.
// Reads LANGFUSE_BASE_URL, LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY.
// Prints {written, trace, traces, observation, observations, observationsV2,
// sessions, session, scores} on its last line.
import { LangfuseClient } from "@langfuse/client";
import { LangfuseSpanProcessor } from "@langfuse/otel";
import { observe, propagateAttributes, startActiveObservation } from "@langfuse/tracing";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

const processor = new LangfuseSpanProcessor();
const provider = new NodeTracerProvider({ spanProcessors: [processor] });
provider.register();
const langfuse = new LangfuseClient();
const sessionId = process.argv[2];
const written = {};

const retrieve = observe(async (question) => ["doc-1", question.length], {
  name: "retrieve",
  asType: "retriever",
});

await startActiveObservation("js request", async (root) => {
  await propagateAttributes(
    { traceName: "js chat", userId: "grace", sessionId, tags: ["js"] },
    async () => {
      await retrieve("Weather in Oslo?");
      await startActiveObservation(
        "js llm",
        async (generation) => {
          generation.update({
            model: "gpt-js",
            input: [{ role: "user", content: "Weather in Oslo?" }],
            output: "Snow.",
            usageDetails: { input: 7, output: 3 },
          });
          written.generation = generation.id;
        },
        { asType: "generation" },
      );
    },
  );
  root.update({ output: "Snow." });
  written.trace = root.traceId;
  written.root = root.id;
});
await processor.forceFlush();

const created = await Promise.all([
  langfuse.api.legacy.scoreV1.create({
    traceId: written.trace,
    name: "helpful",
    value: 1,
    dataType: "BOOLEAN",
  }),
  langfuse.api.legacy.scoreV1.create({
    id: "js-quality-1",
    traceId: written.trace,
    observationId: written.generation,
    name: "quality",
    value: 0.9,
    comment: "crisp",
  }),
]);
written.scores = created.map((score) => score.id);
// The client's own score API queues `score-create` events and sends them to
// POST /api/public/ingestion when flushed: one on the trace, one on the session.
langfuse.score.create({
  id: "js-tone-1",
  traceId: written.trace,
  name: "tone",
  value: "friendly",
  dataType: "CATEGORICAL",
});
langfuse.score.create({ sessionId, name: "session ok", value: 1, dataType: "BOOLEAN" });
await langfuse.flush();

const result = {
  written,
  trace: await langfuse.api.trace.get(written.trace),
  traces: await langfuse.api.trace.list({ sessionId, tags: ["js"], limit: 10 }),
  observation: await langfuse.api.legacy.observationsV1.get(written.generation),
  observations: await langfuse.api.legacy.observationsV1.getMany({
    traceId: written.trace,
    type: "GENERATION",
  }),
  observationsV2: await langfuse.api.observations.getMany({
    traceId: written.trace,
    limit: 2,
  }),
  sessions: await langfuse.api.sessions.list({ limit: 100 }),
  session: await langfuse.api.sessions.get(sessionId),
  scores: await langfuse.api.scoresV3.getManyV3({ traceId: written.trace }),
  sessionScores: await langfuse.api.scoresV3.getManyV3({ sessionId }),
};
await provider.shutdown();
console.log(JSON.stringify(result));
