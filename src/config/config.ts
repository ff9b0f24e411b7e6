import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { closest } from '../util/suggest.js';
import { CONFIG_SCHEMA, type ConfigKeySpec } from './schema.js';

export interface MirrorConfig { url?: string; endpoint?: string | null; region?: string; forcePathStyle?: boolean; autoPush?: boolean }
export interface BatchConfig { queue?: string; image?: string; region?: string; endpoint?: string | null; jobRoleArn?: string | null; runnableTimeoutSeconds?: number; executionRoleArn?: string | null; assignPublicIp?: boolean; logEverySeconds?: number }

export interface FlowConfig {
  /** Absolute store location (a directory, or an s3:// URL). */
  store: string;
  maxWorkers?: number;
  mirror?: MirrorConfig;
  batch?: BatchConfig;
  codePackage?: { maxBytes?: number };
  /** The project root: where .flowrc, package.json or .git was found. */
  projectRoot: string;
  /** The .flowrc that was read, if any. */
  file?: string;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Walks up from `start` and returns the first directory containing one of `names`. */
export function findUp(start: string, names: readonly string[]): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (names.some((n) => existsSync(join(dir, n)))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Loads the configuration for a flow in `startDir`: `.flowrc` found by walking up, then
 * FLOW_* environment variables on top. Unknown keys, bad JSON and wrong types are errors
 * naming the key path.
 */
export function loadConfig(startDir: string, env: NodeJS.ProcessEnv = process.env): FlowConfig {
  const rcDir = findUp(startDir, ['.flowrc']);
  const projectRoot = rcDir ?? findUp(startDir, ['package.json', '.git']) ?? resolve(startDir);
  const file = rcDir ? join(rcDir, '.flowrc') : undefined;
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
  const store = typeof merged.store === 'string' ? merged.store : '.flow';
  return {
    ...(merged as Omit<FlowConfig, 'store' | 'projectRoot'>),
    store: /^[a-z0-9]+:\/\//i.test(store) ? store : resolve(projectRoot, store),
    projectRoot,
    file,
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
    throw new ConfigError(`store (FLOW_STORE) is ${JSON.stringify(config.store)}: only directories and s3:// URLs are supported.`, { key: 'store', fix: 'Use a directory such as .flow, or s3://bucket/prefix.' });
  }
  return config.store;
}

function checkKeys(obj: Record<string, Json>, schema: Record<string, ConfigKeySpec>, prefix: string, file: string): void {
  for (const [key, value] of Object.entries(obj)) {
    if (key.startsWith('//')) continue; // JSON has no comments; "//" keys are the usual stand-in (npm does the same)
    const path = prefix + key;
    const spec = schema[key];
    if (!spec) {
      const guess = closest(key, Object.keys(schema));
      throw new ConfigError(`${file}: unknown key '${path}'.`, {
        file, key: path, fix: guess ? `Did you mean '${prefix}${guess}'? See .flowrc.example.` : `Known keys: ${Object.keys(schema).map((k) => prefix + k).join(', ')}.`,
      });
    }
    const problem = typeProblem(spec, value);
    if (problem) throw new ConfigError(`${file}: '${path}' ${problem}.`, { file, key: path, fix: `Set '${path}' to ${spec.help}.` });
    if (spec.type === 'object') checkKeys(value as Record<string, Json>, spec.keys!, `${path}.`, file);
  }
}

function typeProblem(spec: ConfigKeySpec, v: Json): string | undefined {
  switch (spec.type) {
    case 'string': return typeof v === 'string' && v !== '' ? undefined : 'must be a non-empty string';
    case 'string|null': return v === null || typeof v === 'string' ? undefined : 'must be a string or null';
    case 'boolean': return typeof v === 'boolean' ? undefined : 'must be true or false';
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return 'must be a whole number';
      return spec.min !== undefined && v < spec.min ? `must be at least ${spec.min}` : undefined;
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v) ? undefined : 'must be an object';
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
    if (value === undefined || typeProblem(spec, value)) {
      throw new ConfigError(`Environment variable ${spec.env}=${JSON.stringify(text)} is not valid for '${prefix}${key}'.`, {
        key: prefix + key, fix: `Set ${spec.env} to ${spec.help}, or unset it.`,
      });
    }
    out[key] = value;
  }
  return out;
}

function fromEnv(spec: ConfigKeySpec, text: string): Json | undefined {
  switch (spec.type) {
    case 'integer': return /^\d+$/.test(text) ? Number(text) : undefined;
    case 'boolean': return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : undefined;
    default: return text;
  }
}
