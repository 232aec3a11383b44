// The portal's files need no compiling: copy them next to the built server and print what the
// page costs a browser (the bound: at most 300 KB of JavaScript, gzipped).
import { cpSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const from = 'src/portal/assets';
const to = 'dist/portal/assets';
cpSync(from, to, { recursive: true });
let js = 0;
let all = 0;
for (const name of readdirSync(from)) {
  const size = gzipSync(readFileSync(join(from, name)), { level: 9 }).length;
  all += size;
  if (name.endsWith('.js')) js += size;
}
const LIMIT = 300 * 1024;
console.log(`portal: ${(js / 1024).toFixed(1)} KB of JavaScript gzipped (${(all / 1024).toFixed(1)} KB with HTML and CSS)`);
if (js > LIMIT) {
  console.error(`portal: JavaScript exceeds ${LIMIT / 1024} KB gzipped`);
  process.exit(1);
}
