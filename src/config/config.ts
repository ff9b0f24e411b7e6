import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { redactUrl } from '../util/url-credentials.js';
import { closest } from '../util/suggest.js';
import { locateProject } from './discovery.js';
import { CONFIG_SCHEMA, type ConfigKeySpec } from './schema.js';
import { checkStorePath } from './store-path.js';
import { valueProblem } from './config-schema.js';

export { findUp } from '../util/find-up.js';

export interface MirrorConfig {
  url?: string;
  endpoint?: string | null;
  region?: string;
  forcePathStyle?: boolean;
  autoPush?: boolean;
}
export interface BatchConfig {
  queue?: string;
  image?: string;
  region?: string;
  endpoint?: string | null;
  jobRoleArn?: string | null;
  runnableTimeoutSeconds?: number;
  executionRoleArn?: string | null;
  assignPublicIp?: boolean;
  logEverySeconds?: number;
}
export interface CodePackageConfig {
  maxBytes?: number;
  /** Globs (relative to the project root) kept out of the code package and the dirty patch. */
  exclude?: string[];
}

export interface CacheConfig {
  /** Cache every step (flow run --cache) unless a run says --no-cache. */
  default?: boolean;
}

export interface FlowConfig {
  /** Absolute store location (a directory, or an s3:// URL). */
  store: string;
  maxWorkers?: number;
  mirror?: MirrorConfig;
  batch?: BatchConfig;
  codePackage?: CodePackageConfig;
  cache?: CacheConfig;
  /** The project root: the nearest folder with package.json or .git (DESIGN §7). */
  projectRoot: string;
  /** The .flowrc that was read, if any. */
  file?: string;
  /** What the user should be told (e.g. a .flowrc above the project root was ignored). */
  warnings?: string[];
}

export interface LoadConfigOptions {
  /** Where warnings go; default: one `warning:` line on stderr per distinct warning and process. */
  warn?: (line: string) => void;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

const warned = new Set<string>();
function warnOnce(line: string): void {
  if (warned.has(line)) return;
  warned.add(line);
  process.stderr.write(`warning: ${line}\n`);
}

/**
 * Loads the configuration for a flow in `startDir`: the project's `.flowrc` (found by walking
 * up, never above the project root), then FLOW_* environment variables on top. Unknown keys,
 * bad JSON, wrong types, out-of-range values and unsafe store folders are errors naming the key.
 */
export function loadConfig(startDir: string, env: NodeJS.ProcessEnv = process.env, opts: LoadConfigOptions = {}): FlowConfig {
  const { projectRoot, rcFile: file, warnings } = locateProject(startDir, env);
  for (const w of warnings) (opts.warn ?? warnOnce)(w);
  let raw: Record<string, Json> = {};
  if (file) {
    let parsed: Json;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as Json;
    } catch (e) {
      throw new ConfigError(`${file} is not valid JSON: ${(e as Error).message}.`, { file, fix: 'Fix the JSON syntax (see .flowrc.example for every key).' });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`${file} must hold a JSON object.`, { file, fix: 'Write it as { "store": ".flow", ... }.' });
    }
    raw = parsed;
    checkKeys(raw, CONFIG_SCHEMA, '', file);
  }
  const merged = applyEnv(raw, CONFIG_SCHEMA, env, '');
  const fromEnv = typeof env.FLOW_STORE === 'string' && env.FLOW_STORE !== '';
  // A store named in .flowrc is relative to that file (as .flowrc.example says); FLOW_STORE and
  // the default are relative to the project root.
  const base = !fromEnv && file && typeof raw.store === 'string' ? dirname(file) : projectRoot;
  const text = typeof merged.store === 'string' ? merged.store : '.flow';
  const store = /^[a-z0-9]+:\/\//i.test(text) ? text : resolve(base, text);
  if (!store.includes('://')) checkStorePath(store, projectRoot, fromEnv ? `FLOW_STORE=${text}` : file && raw.store !== undefined ? file : 'the default store');
  return {
    ...(merged as Omit<FlowConfig, 'store' | 'projectRoot'>),
    store,
    projectRoot,
    file,
    warnings,
  };
}

/**
 * The directory of the local store: `store` itself, or — when `store` is an s3:// URL — the
 * project's `.flow`, which then serves as the working cache of the S3 store (runs execute
 * against it and are pushed as they finish).
 */
export function localStoreDir(config: Pick<FlowConfig, 'store' | 'projectRoot'>): string {
  if (config.store.startsWith('s3://')) return resolve(config.projectRoot, '.flow');
  if (/^[a-z0-9]+:\/\//i.test(config.store)) {
    throw new ConfigError(`store (FLOW_STORE) is ${JSON.stringify(redactUrl(config.store))}: only directories and s3:// URLs are supported.`, { key: 'store', fix: 'Use a directory such as .flow, or s3://bucket/prefix.' });
  }
  return config.store;
}

function checkKeys(obj: Record<string, Json>, schema: Record<string, ConfigKeySpec>, prefix: string, file: string): void {
  for (const [key, value] of Object.entries(obj)) {
    if (key.startsWith('//')) continue; // JSON has no comments; "//" keys are the usual stand-in (npm does the same)
    const path = prefix + key;
    // Own keys only: "constructor" or "__proto__" must not find Object.prototype's members.
    const spec = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (!spec) {
      const guess = closest(key, Object.keys(schema));
      throw new ConfigError(`${file}: unknown key '${path}'.`, {
        file,
        key: path,
        fix: guess
          ? `Did you mean '${prefix}${guess}'? See .flowrc.example.`
          : `Known keys: ${Object.keys(schema)
              .map((k) => prefix + k)
              .join(', ')}.`,
      });
    }
    const problem = valueProblem(spec, value);
    if (problem) throw new ConfigError(`${file}: '${path}' ${problem}.`, { file, key: path, fix: `Set '${path}' to ${spec.help}.` });
    if (spec.type === 'object') checkKeys(value as Record<string, Json>, spec.keys!, `${path}.`, file);
  }
}

function applyEnv(obj: Record<string, Json>, schema: Record<string, ConfigKeySpec>, env: NodeJS.ProcessEnv, prefix: string): Record<string, Json> {
  const out: Record<string, Json> = { ...obj };
  for (const [key, spec] of Object.entries(schema)) {
    if (spec.type === 'object') {
      const nested = applyEnv((out[key] as Record<string, Json> | undefined) ?? {}, spec.keys!, env, `${prefix}${key}.`);
      if (Object.keys(nested).length > 0) out[key] = nested;
      continue;
    }
    const text = spec.env ? env[spec.env] : undefined;
    if (text === undefined || text === '') continue;
    const value = fromEnv(spec, text);
    const problem = value === undefined ? `is not ${spec.type === 'integer' ? 'a whole number' : 'valid'}` : valueProblem(spec, value);
    if (problem) {
      const shown = spec.type === 'string' || spec.type === 'string|null' ? redactUrl(text) : text;
      throw new ConfigError(`Environment variable ${spec.env}=${JSON.stringify(shown)} is not valid for '${prefix}${key}' (${problem}).`, {
        key: prefix + key,
        fix: `Set ${spec.env} to ${spec.help}, or unset it.`,
      });
    }
    out[key] = value!;
  }
  return out;
}

function fromEnv(spec: ConfigKeySpec, text: string): Json | undefined {
  switch (spec.type) {
    case 'integer':
      return /^\d+$/.test(text) ? Number(text) : undefined;
    case 'boolean':
      return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : undefined;
    case 'string[]': {
      if (!text.trimStart().startsWith('['))
        return text
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
      try {
        return JSON.parse(text) as Json;
      } catch {
        return undefined;
      }
    }
    default:
      return text;
  }
}
