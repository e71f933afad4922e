// Prints `N passed, N failed, N skipped` over the vitest JSON reports given as arguments. A report that is missing
// (its suite did not get as far as running tests) is said on stderr; .ci/run's exit status carries the failure.
import { existsSync, readFileSync } from 'node:fs';

const reports = process.argv.slice(2).flatMap((file) => {
  if (existsSync(file)) return [JSON.parse(readFileSync(file, 'utf8'))];
  console.error(`no test report ${file}: its suite ran no test`);
  return [];
});
const sum = (key) => reports.reduce((total, report) => total + report[key], 0);
console.log(
  `${sum('numPassedTests')} passed, ${sum('numFailedTests')} failed, ${sum('numPendingTests') + sum('numTodoTests')} skipped`,
);
