// graphile-worker logs every job it completes (info): at thousands a second that is the
// console's work, not the queue's. Warnings and errors still reach stderr.
import { Logger } from 'graphile-worker';

export const quietLogger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`graphile-worker ${level}: ${message}\n`);
});
