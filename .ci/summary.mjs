// Sums every vitest JSON report under packages/*, apps/*, test/ and examples/ into one line:
// "N passed, N failed". A report whose run failed without a failed test (an unhandled error, a
// crashed worker) counts as one failure, and so does a failed test command that left no report
// (pass its exit code as the first argument), so the line never reads "0 failed" on a red run.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const testExitCode = Number(process.argv[2] ?? 0);
const reports = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (dir.endsWith('test-results') && /^vitest-.*\.json$/.test(name)) reports.push(path);
  }
};
for (const root of ['packages', 'apps', 'test', 'examples']) {
  try {
    walk(root);
  } catch {}
}
let passed = 0;
let failed = 0;
for (const path of reports) {
  const report = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof report.numPassedTests !== 'number' || typeof report.numFailedTests !== 'number') {
    console.error(`not a vitest report: ${path}`);
    failed++;
    continue;
  }
  passed += report.numPassedTests;
  const failedHere = report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0);
  failed += failedHere > 0 ? failedHere : report.success === false ? 1 : 0;
  if (report.success === false) console.error(`failed: ${path}`);
}
if (testExitCode !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
