import type { FlowConfig } from '../config/config.js';
import type { S3Store } from '../store/s3.js';
import { isS3Url, parseS3Url, type S3Location } from '../store/s3-location.js';

/**
 * The S3 location a project mirrors to: `mirror.url` in .flowrc (FLOW_MIRROR_URL), or the
 * `store` itself when it is an s3:// URL (then the local `.flow` is its working cache).
 */
export function mirrorLocation(config: Pick<FlowConfig, 'store' | 'mirror'>): S3Location | undefined {
  const m = config.mirror ?? {};
  const url = isS3Url(config.store) ? config.store : m.url;
  if (!url) return undefined;
  const source = isS3Url(config.store) ? 'store (FLOW_STORE)' : 'mirror.url (FLOW_MIRROR_URL)';
  return {
    ...parseS3Url(url, source),
    ...(m.endpoint ? { endpoint: m.endpoint } : {}),
    ...(m.region ? { region: m.region } : {}),
    ...(m.forcePathStyle !== undefined ? { forcePathStyle: m.forcePathStyle } : {}),
  };
}

/** Whether a finished run is pushed by `flow run` itself (default true when a mirror exists). */
export function autoPushEnabled(config: Pick<FlowConfig, 'store' | 'mirror'>): boolean {
  return mirrorLocation(config) !== undefined && config.mirror?.autoPush !== false;
}

const opened = new Map<string, Promise<S3Store>>();

/** Opens (once per process) the mirror's S3 store. */
export function openMirror(loc: S3Location): Promise<S3Store> {
  const key = JSON.stringify(loc);
  let store = opened.get(key);
  if (!store) {
    // Imported on demand: the AWS SDK costs ~150 ms of start-up that local-only commands skip.
    store = import('../store/s3.js').then(({ S3Store }) => S3Store.open(loc));
    store.catch(() => opened.delete(key));
    opened.set(key, store);
  }
  return store;
}
