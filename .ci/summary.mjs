// Sums every vitest JSON report under packages/*, apps/* and test/ into one line:
// "N passed, N failed". Exits non-zero when a report is missing a result or any test failed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const reports = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (dir.endsWith('test-results') && name.endsWith('.json')) reports.push(path);
  }
};
for (const root of ['packages', 'apps', 'test']) {
  try {
    walk(root);
  } catch {}
}
let passed = 0;
let failed = 0;
for (const path of reports) {
  const report = JSON.parse(readFileSync(path, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0) + (report.numFailedTestSuites ?? 0);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
