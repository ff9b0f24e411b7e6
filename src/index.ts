/**
 * flowrun's public API: the authoring API (DESIGN §2) and, as later issues add it, the client API.
 * Importing this module installs the Symbol.metadata polyfill before any flow class is evaluated.
 */
import './flow/metadata.js';

export { FlowSpec, type Inputs, type ArtifactsOf, type ForeachOptions, type MergeOptions, type StepRef } from './flow/flowspec.js';
export {
  step,
  param,
  includeFile,
  retry,
  timeout,
  catchError,
  resources,
  batch,
  npm,
  conda,
  environment,
  npmBase,
  condaBase,
  card,
  cache,
  type CardOptions,
  type RetryOptions,
  type TimeoutOptions,
  type CatchErrorOptions,
  type ResourcesOptions,
  type BatchOptions,
  type NpmOptions,
  type CondaOptions,
  type EnvironmentOptions,
  type IncludeFileOptions,
  type CacheOptions,
} from './flow/decorators.js';
export type { ParamOptions } from './flow/metadata.js';
export { FlowError, isFlowError, ExitCode } from './errors/index.js';
export { Flow, Run, Step, Task, namespace, getNamespace, defaultNamespace, type ClientOptions, type FlowRunsQuery } from './client/client.js';
export type { ListedStatus, RunKind } from './metadata/run-query.js';
export { current, type RunContext } from './flow/current.js';
export { currentCard, Markdown, Table, Image, VegaChart, Artifact, type CardComponent } from './cards/author.js';
