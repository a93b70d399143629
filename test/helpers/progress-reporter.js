/**
 * A jest reporter that says on stderr, as it happens, which test starts and how each ends. The
 * default reporter prints a file's results only when the whole file is done, so a run that is
 * killed part-way (the UML guests of test/vm, whose watchdog reports what every process waits
 * in) would otherwise not say which test it was in.
 */
class ProgressReporter {
  onTestCaseStart(test, info) {
    process.stderr.write(`[progress] start ${info.fullName}\n`);
  }

  onTestCaseResult(test, result) {
    process.stderr.write(`[progress] ${result.status} ${result.fullName} (${result.duration ?? "?"} ms)\n`);
  }
}
module.exports = ProgressReporter;
