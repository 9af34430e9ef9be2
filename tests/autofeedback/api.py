"""GraphQL steps the autofeedback tests share."""

from __future__ import annotations

from typing import Any

from tests.autofeedback.waiting import eventually
from tests.conftest import GraphQLClient

START = """
mutation($task: ID, $key: String, $limit: Int!, $method: AutoFeedbackMethod! = LLM,
         $examples: Int! = 8, $filter: RunFilter) {
  startAutoFeedback(taskId: $task, key: $key, limit: $limit, method: $method,
                    examples: $examples, runFilter: $filter) {
    id taskId key status total done failed model reviewer method examples limit runFilter
  }
}"""

JOB = """
query($id: ID!) {
  autoFeedbackJob(id: $id) {
    id status total done failed inFlight error failures { runId error }
  }
}"""

CANCEL = """
mutation($id: ID!) { cancelAutoFeedbackJob(id: $id) { id status finishedAt } }"""

SUBMISSIONS = """
query($task: ID!, $run: ID) {
  taskSubmissions(taskId: $task, runId: $run) {
    nodes { reviewer userId values sourceType sourceInfo taskVersion }
  }
}"""

CALIBRATION = """
query($task: ID, $key: String, $method: AutoFeedbackMethod!, $holdout: Float! = 0.2,
      $seed: Int! = 0, $examples: Int! = 8) {
  autoFeedbackCalibration(taskId: $task, key: $key, method: $method, holdout: $holdout,
                          seed: $seed, examples: $examples) {
    taskId key method model examples holdout seed labelledRuns heldOutRunIds exampleRuns
    predicted failed failures { runId error }
    fields { field measure runs compared missing exactAgreement meanAbsoluteError }
  }
}"""

FINISHED = ("DONE", "CANCELLED", "FAILED")


async def start(gql: GraphQLClient, **variables: Any) -> dict[str, Any]:
    data = await gql.ok(START, variables)
    job: dict[str, Any] = data["startAutoFeedback"]
    return job


async def job(gql: GraphQLClient, job_id: str) -> dict[str, Any]:
    data = await gql.ok(JOB, {"id": job_id})
    result: dict[str, Any] = data["autoFeedbackJob"]
    return result


async def finished(gql: GraphQLClient, job_id: str) -> dict[str, Any]:
    """The job once it has finished (done, cancelled or failed)."""
    latest: dict[str, Any] = {}

    async def check() -> bool:
        latest.update(await job(gql, job_id))
        return latest["status"] in FINISHED

    await eventually(check, f"job {job_id} to finish")
    return latest


async def model_submissions(gql: GraphQLClient, task_id: str, run_id: str) -> list[dict[str, Any]]:
    data = await gql.ok(SUBMISSIONS, {"task": task_id, "run": run_id})
    return [s for s in data["taskSubmissions"]["nodes"] if s["sourceType"] == "MODEL"]


async def calibration(gql: GraphQLClient, **variables: Any) -> dict[str, Any]:
    data = await gql.ok(CALIBRATION, variables)
    report: dict[str, Any] = data["autoFeedbackCalibration"]
    return report
