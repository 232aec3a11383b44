// The job options both BullMQ baselines (Redis, PostgreSQL) enqueue with: what a team
// would write for webhooks — 5 attempts with exponential backoff from 1 s, completed jobs
// removed at once, the last 1,000 failed ones kept.
export const JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: 1000,
};

/** The jobs of `events` events × `urls` endpoints, in chunks of `chunk` for addBulk. */
export function* jobChunks(events, urls, firstId, parcelEvent, chunk = 1000) {
  let jobs = [];
  for (let e = 0; e < events; e++) {
    const body = JSON.stringify(parcelEvent(firstId + e));
    for (const url of urls) jobs.push({ name: 'parcels.event.created', data: { url, body }, opts: JOB_OPTIONS });
    if (jobs.length >= chunk || e === events - 1) {
      yield jobs;
      jobs = [];
    }
  }
}
