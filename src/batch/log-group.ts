/** Where the awslogs driver sends Batch jobs' output unless the job definition names a group. */
export const DEFAULT_LOG_GROUP = '/aws/batch/job';
