// Prints `N passed, N failed, N skipped` over the vitest JSON reports given as arguments. A report that is missing
// (its suite did not get as far as running tests) is said on stderr; .ci/run's exit status carries the failure.
// Failed tests are named (with the first lines of their message) above the count, so a CI log that keeps only its
// tail still says what failed.
import { existsSync, readFileSync } from 'node:fs';

const reports = process.argv.slice(2).flatMap((file) => {
  if (existsSync(file)) return [JSON.parse(readFileSync(file, 'utf8'))];
  console.error(`no test report ${file}: its suite ran no test`);
  return [];
});
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
  `${sum('numPassedTests')} passed, ${sum('numFailedTests')} failed, ${sum('numPendingTests') + sum('numTodoTests')} skipped`,
);
