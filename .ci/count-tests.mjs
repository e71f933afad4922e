// Prints `N passed, N failed, N skipped` over the vitest JSON reports given as arguments. A report that is missing
// (its suite did not get as far as running tests: an install, a server start, the type check or lint failed) counts
// as one failure, and so does each `--failed-step=<name>` (a step with no tests of its own, such as schemathesis):
// the line never reads green for a red run. Failed tests are named (with the first lines of their message) above the
// count, so a CI log that keeps only its tail still says what failed.
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const failedSteps = args.filter((arg) => arg.startsWith('--failed-step=')).map((arg) => arg.slice(14));
const files = args.filter((arg) => !arg.startsWith('--'));
const missing = files.filter((file) => !existsSync(file));
const reports = files.filter((file) => existsSync(file)).map((file) => JSON.parse(readFileSync(file, 'utf8')));
for (const file of missing) console.log(`FAILED ${file}: no test report, its suite ran no test`);
for (const step of failedSteps) console.log(`FAILED ${step}`);
for (const report of reports) {
  for (const file of report.testResults) {
    for (const test of file.assertionResults) {
      if (test.status !== 'failed') continue;
      const message = (test.failureMessages ?? []).join('\n').split('\n').slice(0, 6).join('\n    ');
      console.log(`FAILED ${file.name.replace(process.cwd() + '/', '')} > ${test.fullName}\n    ${message}`);
    }
  }
}
const sum = (key) => reports.reduce((total, report) => total + report[key], 0);
console.log(
  `${sum('numPassedTests')} passed, ${sum('numFailedTests') + missing.length + failedSteps.length} failed, ${sum('numPendingTests') + sum('numTodoTests')} skipped`,
);
