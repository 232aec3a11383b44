// Preloaded (node --import) into Herald workers by the scaling scenario: counts the HTTP
// requests this process sent through undici (a response's headers arrived, or the request
// failed), from undici's diagnostics channels — Herald's attempts table records no
// worker and a worker serves no /metrics, so the process itself tells. SIGUSR2 writes the
// counts so far to $BENCH_REQUEST_COUNT_DIR/requests-<pid>.json.
import diagnosticsChannel from 'node:diagnostics_channel';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_REQUEST_COUNT_DIR;

if (dir) {
  const counts = { responses: 0, errors: 0 };
  diagnosticsChannel.subscribe('undici:request:headers', () => {
    counts.responses++;
  });
  diagnosticsChannel.subscribe('undici:request:error', () => {
    counts.errors++;
  });
  const file = join(dir, `requests-${process.pid}.json`);
  process.on('SIGUSR2', () => {
    // Written aside and renamed: the bench never reads half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify({ at: Date.now(), pid: process.pid, ...counts }));
    renameSync(`${file}.tmp`, file);
  });
}
