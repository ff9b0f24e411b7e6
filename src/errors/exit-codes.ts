/** Process exit codes, also documented in the README. */
export const ExitCode = {
  ok: 0,
  runFailed: 1,
  /** `flow diff --exit-code`: the runs differ (as diff(1) exits 1). */
  differs: 1,
  usage: 2,
  storeIntegrity: 3,
  remote: 4,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
