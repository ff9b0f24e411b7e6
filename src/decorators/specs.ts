import type { DecoratorSpec, Literal } from './types.js';

const num = (v: Literal | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

/** What Metaflow's Parameter(...) and argparse users write in @param, and the flowrun way. */
const PARAM_NOT_OPTIONS: Readonly<Record<string, string>> = {
  default: "A parameter's default is the value its field starts with: @param({ help: '...' }) alpha = 0.1;",
  name: 'A parameter is named after its field: @param() learningRate = 0.1 is --learning-rate (or --learningRate).',
  description: "Write the description as help: @param({ help: '...' }).",
  choices: 'Check allowed values in the first step and throw an Error naming them.',
};

/**
 * Every step and flow decorator of the contract (DESIGN §2), as data. Options are validated
 * against these specs both statically (`flow check`) and when the decorator runs. Later
 * issues attach behaviour by adding hooks here, never by special-casing names elsewhere.
 */
export const DECORATOR_SPECS: readonly DecoratorSpec[] = [
  {
    name: 'param',
    target: 'field',
    summary: 'A run parameter, set with --NAME on the command line; its type comes from the default.',
    options: {
      help: { type: 'string', help: 'one line shown by flow show and flow run --help' },
      type: {
        type: 'string', oneOf: ['number', 'string', 'boolean', 'json'], help: 'needed when the default is not a literal',
        aliases: { float: 'number', int: 'number', integer: 'number', double: 'number', str: 'string', text: 'string', bool: 'boolean', list: 'json', array: 'json', object: 'json', dict: 'json' },
      },
      required: { type: 'boolean', help: 'the run fails before starting when the value is not given' },
    },
    notOptions: PARAM_NOT_OPTIONS,
  },
  {
    name: 'includeFile',
    target: 'field',
    summary: 'A file input: the parameter value is a path, read when the run starts; its content is hashed into the store and the step sees the content.',
    options: {
      help: { type: 'string', help: 'one line shown by flow show and flow run --help' },
      required: { type: 'boolean', help: 'the run fails before starting when no path is given' },
      binary: { type: 'boolean', help: 'the step sees a Buffer instead of UTF-8 text' },
    },
    notOptions: PARAM_NOT_OPTIONS,
  },
  {
    name: 'retry',
    target: 'step',
    summary: 'Re-run a failed task, recording each attempt.',
    options: {
      times: { type: 'integer', min: 0, help: 'extra attempts after the first (default 3)' },
      minutesBetween: { type: 'number', min: 0, help: 'minutes to wait between attempts (default 0)' },
    },
    hooks: {
      taskSettings: (o, s) => { s.attempts = 1 + (num(o.times) ?? 3); s.retryDelayMs = 60_000 * (num(o.minutesBetween) ?? 0); },
    },
  },
  {
    name: 'timeout',
    target: 'step',
    summary: 'Kill an attempt that runs longer than the limit.',
    options: {
      seconds: { type: 'number', min: 0, help: 'seconds' },
      minutes: { type: 'number', min: 0, help: 'minutes' },
      hours: { type: 'number', min: 0, help: 'hours' },
    },
    hooks: {
      taskSettings: (o, s) => {
        const seconds = (num(o.seconds) ?? 0) + 60 * (num(o.minutes) ?? 0) + 3600 * (num(o.hours) ?? 0);
        if (seconds > 0) s.timeoutMs = seconds * 1000;
      },
    },
  },
  {
    name: 'catchError',
    target: 'step',
    summary: 'Store a task failure in an artifact and let the flow continue.',
    options: {
      var: { type: 'string', help: 'artifact that receives the error' },
      printException: { type: 'boolean', help: 'print the error to the log (default true)' },
    },
    hooks: {
      taskSettings: (o, s) => { s.catchVar = typeof o.var === 'string' ? o.var : 'exception'; s.printException = o.printException !== false; },
    },
  },
  {
    name: 'resources',
    target: 'step',
    summary: 'CPU, memory (MiB) and GPUs a task needs.',
    options: {
      cpu: { type: 'number', min: 0, help: 'vCPUs' },
      memory: { type: 'integer', min: 1, help: 'memory in MiB' },
      gpu: { type: 'integer', min: 0, help: 'GPUs' },
    },
    hooks: {
      taskSettings: (o, s) => { s.heapMB = num(o.memory); },
    },
  },
  {
    name: 'batch',
    target: 'step',
    summary: 'Run this step on AWS Batch.',
    options: {
      queue: { type: 'string', help: 'job queue' },
      image: { type: 'string', help: 'container image with Node >= 20' },
      cpu: { type: 'number', min: 0, help: 'vCPUs' },
      memory: { type: 'integer', min: 1, help: 'memory in MiB' },
      gpu: { type: 'integer', min: 0, help: 'GPUs' },
      sharedMemory: { type: 'integer', min: 1, help: '/dev/shm size in MiB (EC2)' },
      tmpfs: { type: 'record<string>', help: 'container path → tmpfs size in MiB (EC2)' },
      efs: { type: 'record<string>', help: "container path → 'fs-id' or 'fs-id:/root/dir' (an EFS volume)" },
      hostVolumes: { type: 'record<string>', help: 'container path → host path (EC2)' },
      ulimits: { type: 'record<string>', help: "name → 'limit' or 'soft:hard', e.g. { nofile: '65536' } (EC2)" },
      logOptions: { type: 'record<string>', help: 'awslogs log driver options, e.g. { "awslogs-group": "/flows" }' },
      tags: { type: 'record<string>', help: 'tags of the jobs (besides flowrun:flow/run/step)' },
      privileged: { type: 'boolean', help: 'run the container privileged (EC2)' },
      ephemeralStorage: { type: 'integer', min: 21, help: 'disk in GiB, 21-200 (Fargate)' },
      hostRetries: { type: 'integer', min: 0, help: 'Batch retries when the host goes away (Spot reclaim), not counted by @retry (default 3)' },
    },
  },
  {
    name: 'npm',
    target: 'step',
    summary: 'A locked npm environment for this step.',
    options: {
      packages: { type: 'record<string>', help: 'package name → semver range' },
      node: { type: 'string', help: 'Node.js version range' },
    },
  },
  {
    name: 'conda',
    target: 'step',
    summary: 'A locked conda environment for this step.',
    options: {
      packages: { type: 'record<string>', help: 'package name → match spec' },
      python: { type: 'string', help: 'Python version' },
      channels: { type: 'string[]', help: 'channels, in priority order' },
    },
  },
  {
    name: 'environment',
    target: 'step',
    summary: 'Environment variables set while the task runs.',
    options: { vars: { type: 'record<string>', required: true, help: 'name → value' } },
    hooks: {
      taskSettings: (o, s) => { s.env = { ...s.env, ...(o.vars as Record<string, string>) }; },
    },
  },
  {
    name: 'card',
    target: 'step',
    summary: 'Give the step\'s tasks a card: a report built with currentCard.append(...), shown by flow ui and exported by flow card.',
    options: {
      title: { type: 'string', help: 'the card\'s title' },
    },
  },
  {
    name: 'cache',
    target: 'step',
    summary: 'Reuse a task instead of running it when its code, environment, the params and inputs it reads and its seed (if it calls Math.random) are those of an earlier task (flow run --cache does it for every step).',
    options: {
      enabled: { type: 'boolean', help: 'false: never cache this step, even with --cache (it has side effects: writes to a database, calls an API)' },
    },
  },
  {
    name: 'npmBase',
    target: 'flow',
    summary: 'Default @npm environment for every step.',
    options: {
      packages: { type: 'record<string>', help: 'package name → semver range' },
      node: { type: 'string', help: 'Node.js version range' },
    },
  },
  {
    name: 'condaBase',
    target: 'flow',
    summary: 'Default @conda environment for every step.',
    options: {
      packages: { type: 'record<string>', help: 'package name → match spec' },
      python: { type: 'string', help: 'Python version' },
      channels: { type: 'string[]', help: 'channels, in priority order' },
    },
  },
];
